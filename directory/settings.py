"""Read and validate Hirondelle's settings from the environment, in this one place."""

from __future__ import annotations

import dataclasses
import ipaddress
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
    db_pool_size: int
    forwarded_allow_ips: str
    # Local tests only: let the server talk to http:// and loopback/private peers (off by default).
    federation_allow_http: bool = False
    federation_allow_private: tuple[str, ...] = ()
    ca_bundle: str | None = None  # CA certificates for outgoing https (default: the system's)
    worker_lease_seconds: int = 120  # a killed worker's claimed rows come back after this
    cache_entries: int = 50_000  # entry actors (and as many WebFinger answers) kept; 0: none

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
    domain = env.get("HIRONDELLE_DOMAIN", "").strip().lower() or "localhost:8000"
    if not _DOMAIN.match(domain):
        raise SettingsError(
            f"HIRONDELLE_DOMAIN={domain!r} is not a host name such as dir.example.org"
        )
    return Settings(
        database_url=database_url,
        domain=domain,
        data_dir=Path(env.get("HIRONDELLE_DATA_DIR", "").strip() or "./data")
        .expanduser()
        .absolute(),
        host=_read_host(env),
        port=_read_int(env, "HIRONDELLE_PORT", 8000, 1, 65535),
        log_level=_read_choice(env, "HIRONDELLE_LOG_LEVEL", "info", LOG_LEVELS),
        max_body_bytes=_read_int(
            env, "HIRONDELLE_MAX_BODY_BYTES", 4 * 1024 * 1024, 1024, 512 * 1024 * 1024
        ),
        db_pool_size=_read_int(env, "HIRONDELLE_DB_POOL_SIZE", 10, 2, 1000),
        forwarded_allow_ips=env.get("HIRONDELLE_FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1",
        federation_allow_http=_read_bool(env, "HIRONDELLE_UNSAFE_ALLOW_HTTP"),
        federation_allow_private=_read_networks(env, "HIRONDELLE_UNSAFE_ALLOW_PRIVATE_ADDRESSES"),
        ca_bundle=env.get("HIRONDELLE_CA_BUNDLE", "").strip() or None,
        worker_lease_seconds=_read_int(env, "HIRONDELLE_WORKER_LEASE_SECONDS", 120, 1, 3600),
        cache_entries=_read_int(env, "HIRONDELLE_CACHE_ENTRIES", 50_000, 0, 10_000_000),
    )


def _read_host(env: Mapping[str, str]) -> str:
    host = env.get("HIRONDELLE_HOST", "").strip() or "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _DOMAIN.match(host.lower()) or ":" in host:
            raise SettingsError(
                f"HIRONDELLE_HOST={host!r} must be an IP address (0.0.0.0 for every interface)"
                " or a host name"
            ) from None
    return host


def _read_bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r} must be true or false")


def _read_networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    networks = []
    for part in env.get(name, "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(str(ipaddress.ip_network(part.strip(), strict=False)))
        except ValueError:
            raise SettingsError(
                f"{name}: {part.strip()!r} is not an address or CIDR range"
            ) from None
    return tuple(networks)


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
