"""Start the HTTP servers under test pinned to CPUs, and pin PostgreSQL's new backends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def all_cpus() -> str:
    return f"0-{(os.cpu_count() or 1) - 1}"


class HttpServer:
    """`python -m bench.serve <which>` in a subprocess, pinned with taskset."""

    def __init__(
        self,
        which: str,
        dsn: str,
        cpus: str | None,
        options: Sequence[str] = (),
        ca_file: str | None = None,
    ) -> None:
        self.which = which
        self.ca_file = ca_file  # set when the server speaks https (certificate from this CA)
        self.port = free_port()
        command = [sys.executable, "-m", "bench.serve", which, "--port", str(self.port)]
        command += ["--dsn", dsn, *options]
        if cpus:
            command = ["taskset", "-c", cpus, *command]
        # taskset execs the program: the child's pid is the server's pid.
        self.process = subprocess.Popen(command, cwd=ROOT)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        scheme = "https" if self.ca_file else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def wait_ready(self, probe_path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.which} server exited ({self.process.returncode})")
            try:
                response = httpx.get(self.url + probe_path, timeout=5, verify=self.verify)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.which} server did not answer {probe_path}")
            time.sleep(0.2)

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client needs to trust this server."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running(
    which: str,
    dsn: str,
    cpus: str | None,
    probe_path: str,
    options: Sequence[str] = (),
    ca_file: str | None = None,
) -> Iterator[HttpServer]:
    """`python -m bench.serve <which> … <options>`, answering 200 at `probe_path`."""
    server = HttpServer(which, dsn, cpus, options, ca_file)
    try:
        server.wait_ready(probe_path)
        yield server
    finally:
        server.stop()


def _parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def postmaster_pid(dsn: str) -> int:
    """The postmaster of a local server: the parent process of one of its backends."""

    async def parent_of_backend() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
            return _parent_pid(backend)  # read while the backend lives
        finally:
            await conn.close()

    return asyncio.run(parent_of_backend())


@contextlib.contextmanager
def postgres_pinned(cpus: str | None, dsn: str) -> Iterator[None]:
    """Pin the postmaster, hence every backend it forks from now on, to `cpus`; undo after.

    Backends that already exist keep their CPUs: start the servers under test inside this.
    """
    if not cpus:
        yield
        return
    pid = str(postmaster_pid(dsn))
    subprocess.run(["taskset", "-p", "-c", cpus, pid], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["taskset", "-p", "-c", all_cpus(), pid], check=True, capture_output=True)
