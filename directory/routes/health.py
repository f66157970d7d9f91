"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.migrate import MigrationError, pending_migrations
from directory.routes.responses import data, error, pool_of


async def healthz(request: Request) -> Response:
    """GET /healthz: the process is up."""
    return data({"status": "ok"})


async def readyz(request: Request) -> Response:
    """GET /readyz: the database answers and every migration is applied."""
    try:
        async with pool_of(request).acquire(timeout=5) as conn:
            pending = await pending_migrations(conn)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return error(503, "database_unavailable", f"the database does not answer: {exc}")
    except MigrationError as exc:
        return error(503, "schema_mismatch", str(exc))
    if pending:
        names = ", ".join(m.name for m in pending)
        return error(503, "migrations_pending", f"run `hirondelle migrate`: {names}")
    return data({"status": "ready"})


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
