"""Interop fixtures: Hirondelle served for real, next to real third-party ActivityPub software.

- Hirondelle: uvicorn in this process (on the session event loop), over TLS signed by a
  throwaway CA (Fedify looks handles up over https only), on 127.0.0.1:<free port> with
  HIRONDELLE_DOMAIN=localhost:<port>, a migrated database of the test's own and the worker
  running in-process, so deliveries happen on their own as in `hirondelle serve`.
- Fedify 2.3.6 on Node 22 (`fedify_peer.mjs`), a subprocess on 127.0.0.1 (see FedifyPeer).
- bovine 0.5.19 in its own venv (`bovine_client.py`, see test_bovine.py).

Node, Fedify and bovine are installed by `sh tests/interop/setup.sh` (scripts/test runs it).
When they are missing, these tests fail and say so: they never skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import asyncpg
import httpx
import pytest
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory.app import create_app
from directory.services.federation import Federation
from directory.settings import load_settings

HERE = Path(__file__).resolve().parent
NODE = HERE / ".node" / "node_modules" / ".bin" / "node"
FEDIFY = HERE / "node_modules" / "@fedify" / "fedify" / "package.json"  # resolvable from HERE
FEDIFY_PEER = HERE / "fedify_peer.mjs"
BOVINE_PYTHON = HERE / ".venv-bovine" / "bin" / "python"
SETUP = "sh tests/interop/setup.sh"
START_TIMEOUT = 20.0  # seconds for a server or peer to answer after it was started
EVENT_TIMEOUT = 20.0  # seconds for an activity to arrive (signature double-knock, retries)
HOOK_TIMEOUT = 30.0  # seconds for one Fedify test hook (WebFinger + signed fetches)


def _require(what: str, stamp: Path, sources: tuple[str, ...], needed: tuple[Path, ...]) -> None:
    """Fail (never skip) unless setup.sh installed `what` from the current `sources`."""
    expected = hashlib.sha256(b"".join((HERE / name).read_bytes() for name in sources))
    if not stamp.exists() or not all(path.exists() for path in needed):
        problem = "is not installed"
    elif stamp.read_text().strip() != expected.hexdigest():
        problem = f"is out of date ({', '.join(sources)} changed since it was installed)"
    else:
        return
    pytest.fail(
        f"{what} {problem}. Run `{SETUP}` (scripts/test runs it before pytest) and read its"
        " output for what went wrong.",
        pytrace=False,
    )


def require_fedify() -> None:
    """Node 22 and Fedify, as package.json and package-lock.json pin them."""
    _require(
        "Node 22 + Fedify (tests/interop/.node)",
        HERE / ".node" / ".installed",
        ("package.json", "package-lock.json"),
        (NODE, FEDIFY),
    )


def require_bovine() -> None:
    """bovine in its own venv, as requirements-bovine.txt pins it."""
    _require(
        "bovine (tests/interop/.venv-bovine)",
        HERE / ".venv-bovine" / ".installed",
        ("requirements-bovine.txt",),
        (BOVINE_PYTHON,),
    )


def bound_socket() -> socket.socket:
    """A listening-ready socket on a free loopback port (no race between choosing and binding)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with contextlib.closing(bound_socket()) as sock:
        port: int = sock.getsockname()[1]
        return port


async def eventually(
    probe: Callable[[], Any], *, seconds: float, what: str, explain: Callable[[], str] = str
) -> Any:
    """Await `probe()` every 0.1 s until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: nothing after {seconds:.0f} s\n{explain()}")
        await asyncio.sleep(0.1)


# --- TLS -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    ca: str  # the throwaway CA, trusted by every client of the tests
    cert: str  # a certificate for localhost and 127.0.0.1, signed by that CA
    key: str


@pytest.fixture(scope="session")
def tls(ca: trustme.CA, ca_file: str, tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    directory = tmp_path_factory.mktemp("interop-tls")
    issued = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = directory / "server.pem", directory / "server.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return TlsFiles(ca=ca_file, cert=str(cert), key=str(key))


# --- Hirondelle, served for real ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request Hirondelle answered."""

    method: str
    path: str
    signature: str  # "rfc9421" (Signature-Input), "cavage" (Signature only) or "none"
    user_agent: str
    status: int


class Recorder:
    """ASGI middleware that notes each HTTP request and its status (evidence for the tests)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[Seen] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        signature = (
            "rfc9421"
            if "signature-input" in headers
            else "cavage"
            if "signature" in headers
            else "none"
        )
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        noted = False

        def note(status: int) -> None:
            nonlocal noted
            noted = True
            user_agent = headers.get("user-agent", "")
            self.seen.append(Seen(scope["method"], path, signature, user_agent, status))

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                note(message["status"])  # before the client can see the answer
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            if not noted:
                note(500)  # the app failed before answering; uvicorn answers 500

    def describe(self) -> str:
        lines = [
            f"  {s.status} {s.method} {s.path} [{s.signature}] {s.user_agent}" for s in self.seen
        ]
        return "requests Hirondelle answered:\n" + "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Hirondelle:
    """A running Hirondelle: its public base URL, the app and the requests it answered."""

    base: str  # https://localhost:<port> (TLS) or http://127.0.0.1:<port>
    domain: str  # HIRONDELLE_DOMAIN
    app: Starlette
    recorder: Recorder

    @property
    def federation(self) -> Federation:
        fed: Federation = self.app.state.federation
        return fed

    @property
    def pool(self) -> asyncpg.Pool:
        pool: asyncpg.Pool = self.app.state.pool
        return pool

    def actor_id(self, x_account_id: int) -> str:
        return self.federation.urls.entry_actor(x_account_id)


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp,
    name: str,
    *,
    sock: socket.socket | None = None,
    tls: TlsFiles | None = None,
    lifespan: Literal["auto", "on", "off"] = "off",
) -> AsyncIterator[int]:
    """Serve `app` with uvicorn in this event loop, on `sock` (a bound loopback socket, by
    default a new one on a free port); yield the port, and stop the server afterwards."""
    sock = sock or bound_socket()
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,  # leave the test session's logging alone
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        ssl_certfile=tls.cert if tls else None,
        ssl_keyfile=tls.key if tls else None,
        timeout_graceful_shutdown=1,  # peers' keep-alive connections must not hold teardown
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{name}-{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:  # uvicorn offers no event to await
            if task.done():
                raise AssertionError(f"{name} did not start: {task.exception()!r} (see the log)")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start within {START_TIMEOUT} s")
            await asyncio.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
        sock.close()


@contextlib.asynccontextmanager
async def serve_hirondelle(
    dsn: str, ca_file: str, tls: TlsFiles | None
) -> AsyncIterator[Hirondelle]:
    """Serve Hirondelle for real, over TLS (domain localhost:<port>) when `tls` is given, else
    over plain http (domain 127.0.0.1:<port>); its worker runs in the same process."""
    sock = bound_socket()  # the port is part of HIRONDELLE_DOMAIN: bind it first
    port = sock.getsockname()[1]
    domain = f"localhost:{port}" if tls else f"127.0.0.1:{port}"
    settings = load_settings(
        {
            "HIRONDELLE_DOMAIN": domain,
            "HIRONDELLE_UNSAFE_ALLOW_HTTP": "1",  # the bovine actor server is plain http
            "HIRONDELLE_UNSAFE_ALLOW_PRIVATE_ADDRESSES": "127.0.0.0/8",
            "HIRONDELLE_CA_BUNDLE": ca_file,
        }
    )
    app = create_app(settings, dsn=dsn, run_worker=True)
    recorder = Recorder(app)
    async with serve_asgi(recorder, "hirondelle", sock=sock, tls=tls, lifespan="on"):
        scheme = "https" if tls else "http"
        yield Hirondelle(f"{scheme}://{domain}", domain, app, recorder)


@pytest.fixture
async def hirondelle(database_dsn: str, tls: TlsFiles) -> AsyncIterator[Hirondelle]:
    """Hirondelle over TLS at https://localhost:<port>, with its own database and worker."""
    async with serve_hirondelle(database_dsn, tls.ca, tls) as served:
        yield served


@pytest.fixture
async def hirondelle_http(database_dsn: str, tls: TlsFiles) -> AsyncIterator[Hirondelle]:
    """Hirondelle over plain http at http://127.0.0.1:<port>, as in a local setup."""
    async with serve_hirondelle(database_dsn, tls.ca, None) as served:
        yield served


# --- Fedify ----------------------------------------------------------------------------------


class FedifyPeer:
    """The Fedify peer process: actor `bob`, its test hooks and the events it recorded."""

    def __init__(
        self, process: subprocess.Popen[bytes], base: str, log: Path, ca: str | None
    ) -> None:
        self.process = process
        self.base = base  # https://127.0.0.1:<port> or http://127.0.0.1:<port>
        self.log = log
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else False

    @property
    def bob(self) -> str:
        """bob's actor id."""
        return f"{self.base}/users/bob"

    @property
    def handle(self) -> str:
        """bob's fediverse handle, as a directory entry lists it."""
        return f"bob@{self.base.partition('://')[2]}"

    def output(self, last: int = 80) -> str:
        """The end of the peer's stdout and stderr (Fedify's log and the events)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return f"Fedify peer output (last {last} lines of {self.log}):\n" + "\n".join(lines[-last:])

    async def hook(self, name: str, **params: str) -> httpx.Response:
        """Call a test hook, e.g. `hook("lookup", q="@jack@localhost:8443")`."""
        async with httpx.AsyncClient(
            base_url=self.base, timeout=HOOK_TIMEOUT, verify=self.verify
        ) as client:
            return await client.get(f"/_test/{name}", params=params)

    async def events(self) -> list[dict[str, Any]]:
        response = await self.hook("events")
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found

    async def wait_for(
        self, event: str, *, seconds: float = EVENT_TIMEOUT, **match: str
    ) -> dict[str, Any]:
        """The first recorded `event` whose fields equal `match`, waiting up to `seconds`."""

        async def probe() -> dict[str, Any] | None:
            found = await self.matching(event, **match)
            return found[0] if found else None

        found: dict[str, Any] = await eventually(
            probe, seconds=seconds, what=f"Fedify event {event} {match}", explain=self.output
        )
        return found

    async def matching(self, event: str, **match: str) -> list[dict[str, Any]]:
        """Every recorded `event` whose fields equal `match` (no waiting)."""
        return [
            e
            for e in await self.events()
            if e["event"] == event and all(e.get(k) == v for k, v in match.items())
        ]


@contextlib.contextmanager
def run_fedify(tls: TlsFiles, log: Path, *, serve_tls: bool) -> Iterator[FedifyPeer]:
    """Start fedify_peer.mjs on a free port (https when `serve_tls`), stop it afterwards."""
    require_fedify()
    for attempt in range(1, 4):
        peer = _start_fedify(tls, log, serve_tls=serve_tls)
        try:
            _wait_until_answering(peer)
        except AssertionError:
            _stop(peer.process)
            # Another process may have taken the free port before Node bound it: try another.
            if attempt < 3 and "EADDRINUSE" in log.read_text(errors="replace"):
                continue
            raise
        break
    try:
        yield peer
    finally:
        _stop(peer.process)


def _start_fedify(tls: TlsFiles, log: Path, *, serve_tls: bool) -> FedifyPeer:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "npm_"))}
    env |= {"PORT": str(port), "NODE_EXTRA_CA_CERTS": tls.ca, "FEDIFY_LOG": "info"}
    if serve_tls:
        env |= {"TLS_CERT": tls.cert, "TLS_KEY": tls.key}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(NODE), str(FEDIFY_PEER)],
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    scheme = "https" if serve_tls else "http"
    return FedifyPeer(process, f"{scheme}://127.0.0.1:{port}", log, tls.ca if serve_tls else None)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_until_answering(peer: FedifyPeer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        code = peer.process.poll()
        if code is not None:
            raise AssertionError(f"the Fedify peer exited with status {code}\n{peer.output()}")
        try:
            response = httpx.get(f"{peer.base}/_test/events", timeout=1, verify=peer.verify)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the Fedify peer did not answer in {START_TIMEOUT} s\n{peer.output()}"
            )
        time.sleep(0.1)


@pytest.fixture(scope="session")
def fedify(tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedifyPeer]:
    """The Fedify peer over https://127.0.0.1:<port> (a Move needs bob's WebFinger: https)."""
    with run_fedify(tls, tmp_path_factory.mktemp("fedify") / "peer.log", serve_tls=True) as peer:
        yield peer


@pytest.fixture(scope="session")
def fedify_http(tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedifyPeer]:
    """The Fedify peer over plain http://127.0.0.1:<port> (HIRONDELLE_UNSAFE_ALLOW_HTTP)."""
    with run_fedify(tls, tmp_path_factory.mktemp("fedify") / "peer.log", serve_tls=False) as peer:
        yield peer


@pytest.fixture(params=["https", "http"])
def any_fedify(request: pytest.FixtureRequest) -> FedifyPeer:
    """Each Fedify peer in turn: over https, then over plain http."""
    name = "fedify" if request.param == "https" else "fedify_http"
    peer: FedifyPeer = request.getfixturevalue(name)
    return peer
