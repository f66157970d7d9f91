"""`hirondelle serve` as a person runs it: a real process, the embedded database, real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {timeout} s")


def test_serve__fresh_data_dir_migrates_serves_and_stops(tmp_path: Path) -> None:
    # Given a fresh data directory and no DATABASE_URL
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"HIRONDELLE_DATA_DIR": str(tmp_path / "data"), "HIRONDELLE_PORT": str(port)}
    os.chmod(tmp_path, 0o755)  # noqa: S103  (as root, the server runs as its own system user)
    process = subprocess.Popen(
        [sys.executable, "-m", "directory", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # When it starts, Then it creates and migrates the embedded database and answers
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/readyz", process)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        missing = httpx.get(f"{base}/api/directory/v1/entries/12")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
    finally:
        # And on SIGTERM it stops cleanly, stopping the database it started
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert not (tmp_path / "data" / "pg" / "postmaster.pid").exists()
