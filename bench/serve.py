"""Serve the real application or the bare baseline under uvicorn, for the HTTP benchmarks.

    python -m bench.serve app  --port 18080 --dsn postgresql://…
    python -m bench.serve bare --port 18081 --dsn postgresql://…
    python -m bench.serve sink --port 18082 --dsn ''

`app` is `directory.app.create_app(settings, dsn=…)`, exactly as `hirondelle serve` builds it,
with HIRONDELLE_DOMAIN=localhost:<port> (WebFinger answers for `acct:…@localhost:<port>`).
`bare` is the fair baseline: a Starlette app whose one route does one asyncpg `fetchrow` by
X id on the same entries table and answers with a JSONResponse, on a pool made like the
application's (directory/db.py: no-op reset, performance-baseline F1, and the same
`max_queries`). `sink` is an inbox for the delivery benchmark: every POST gets 202 and is
counted; GET /count answers the count (https with --tls-dir). All run with uvloop and
httptools, one worker, no access log.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Sequence

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench import proposals as proposed
from directory.app import create_app
from directory.settings import load_settings

BARE_PATH = "/bare/"
APP_PATH = "/api/directory/v1/entries/"
SINK_COUNT_PATH = "/count"
BARE_APPLICATION_NAME = "bench-bare"
APP_APPLICATION_NAME = "hirondelle"  # directory/db.py

_BARE_QUERY = (
    "SELECT x_account_id, x_handle, display_name FROM entries"
    " WHERE x_account_id = $1 AND status = 'published'"
)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """No reset on release, as directory/db.py does."""


def bare_app(dsn: str, pool_size: int = 10) -> Starlette:
    """One route, one fetchrow, one JSONResponse."""

    async def entry(request: Request) -> Response:
        pool: asyncpg.Pool = request.app.state.pool
        row = await pool.fetchrow(_BARE_QUERY, int(request.path_params["x_id"]))
        if row is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(
            {
                "x_account_id": str(row["x_account_id"]),
                "x_handle": row["x_handle"],
                "display_name": row["display_name"],
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn,
            min_size=2,
            max_size=pool_size,
            reset=_keep_session,
            max_queries=5_000_000,  # as directory/db.py since 1bb7fac (bench/README finding 5)
            command_timeout=60,
            server_settings={"application_name": BARE_APPLICATION_NAME, "jit": "off"},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[Route(BARE_PATH + "{x_id}", entry)], lifespan=lifespan)


def app_domain(port: int) -> str:
    """The HIRONDELLE_DOMAIN the `app` server runs with: WebFinger hosts and actor ids."""
    return f"localhost:{port}"


def real_app(dsn: str, port: int, pool_size: int = 10, proposals: Sequence[str] = ()) -> Starlette:
    """The application as `hirondelle serve` builds it; `proposals`: bench/proposals.py.

    HIRONDELLE_CACHE_ENTRIES is taken from this process's environment (0: measure the path
    that misses the actor cache).
    """
    proposed.apply(proposals)
    environ = {
        "DATABASE_URL": dsn,
        "HIRONDELLE_LOG_LEVEL": "warning",
        "HIRONDELLE_DOMAIN": app_domain(port),
        "HIRONDELLE_DB_POOL_SIZE": str(pool_size),
    }
    if "HIRONDELLE_CACHE_ENTRIES" in os.environ:
        environ["HIRONDELLE_CACHE_ENTRIES"] = os.environ["HIRONDELLE_CACHE_ENTRIES"]
    settings = load_settings(environ)
    return create_app(settings, dsn=dsn)


def sink_app() -> Starlette:
    """Accept every POST with 202 (as Mastodon's inbox does) and count them."""
    received = [0]

    async def inbox(request: Request) -> Response:
        await request.body()
        received[0] += 1
        return Response(status_code=202)

    async def count(request: Request) -> Response:
        return JSONResponse({"received": received[0]})

    return Starlette(
        routes=[
            Route(SINK_COUNT_PATH, count, methods=["GET"]),
            Route("/{path:path}", inbox, methods=["POST"]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("which", choices=["app", "bare", "sink"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--pool-size", type=int, default=10, help="app and bare pools' max size")
    parser.add_argument("--tls-dir", help="serve https with <dir>/cert.pem and <dir>/key.pem")
    parser.add_argument(
        "--proposals",
        default="",
        help=f"app: comma-separated fixes of bench/proposals.py ({', '.join(proposed.PROPOSALS)})",
    )
    args = parser.parse_args(argv)
    proposals = [p for p in args.proposals.split(",") if p]
    apps = {
        "app": lambda: real_app(args.dsn, args.port, args.pool_size, proposals),
        "bare": lambda: bare_app(args.dsn, args.pool_size),
        "sink": sink_app,
    }
    app = apps[args.which]()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
        lifespan="on",
        ssl_certfile=f"{args.tls_dir}/cert.pem" if args.tls_dir else None,
        ssl_keyfile=f"{args.tls_dir}/key.pem" if args.tls_dir else None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
