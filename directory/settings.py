"""Read and validate Hirondelle's settings from the environment, in this one place."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?::[0-9]{1,5})?$"
)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the process needs to know about its environment."""

    database_url: str | None
    domain: str
    data_dir: Path
    host: str
    port: int
    log_level: str
    max_body_bytes: int

    @property
    def embedded_pgdata(self) -> Path:
        """Where the embedded PostgreSQL keeps its data when DATABASE_URL is not set."""
        return self.data_dir / "pg"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from HIRONDELLE_* variables and DATABASE_URL, or raise SettingsError."""
    env = os.environ if environ is None else environ
    database_url = env.get("DATABASE_URL", "").strip() or None
    if database_url is not None and not database_url.startswith(("postgres://", "postgresql://")):
        raise SettingsError("DATABASE_URL must start with postgresql:// (or postgres://)")
    domain = env.get("HIRONDELLE_DOMAIN", "localhost:8000").strip().lower()
    if not _DOMAIN.match(domain):
        raise SettingsError(
            f"HIRONDELLE_DOMAIN={domain!r} is not a host name such as dir.example.org"
        )
    return Settings(
        database_url=database_url,
        domain=domain,
        data_dir=Path(env.get("HIRONDELLE_DATA_DIR", "./data")).expanduser().absolute(),
        host=env.get("HIRONDELLE_HOST", "127.0.0.1").strip(),
        port=_read_int(env, "HIRONDELLE_PORT", 8000, 1, 65535),
        log_level=_read_choice(env, "HIRONDELLE_LOG_LEVEL", "info", LOG_LEVELS),
        max_body_bytes=_read_int(
            env, "HIRONDELLE_MAX_BODY_BYTES", 4 * 1024 * 1024, 1024, 512 * 1024 * 1024
        ),
    )


def _read_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} must be a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} must be between {low} and {high}")
    return value


def _read_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value
