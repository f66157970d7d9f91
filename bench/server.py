"""A dedicated PostgreSQL server for the benchmarks, outside the repository and the app's ./data.

    python -m bench.server start      # initialise on first use, then start; prints the DSN
    python -m bench.server status     # running or not, DSN, settings, size
    python -m bench.server dsn        # the TCP DSN of the benchmark database (for scripts)
    python -m bench.server stop
    python -m bench.server destroy    # stop and delete the data directory

    # Another PostgreSQL build, side by side (its own data directory, port and log), e.g. the
    # embedded PostgreSQL 18 of the venv:
    python -m bench.server --pg-bin "$EMBEDDED/pginstall/bin" start

The server is the system PostgreSQL 15 (/usr/lib/postgresql/15/bin; --pg-bin or
$HIRONDELLE_BENCH_PG_BIN for another), run as the `postgres` system user when we are root.
Its data directory is <base>/pg<major> (base: /work/benchdata or $HIRONDELLE_BENCH_DIR). It
listens on 127.0.0.1 on a port chosen free at initialisation (kept in <base>/server-pg<major>.json)
and on a unix socket in <base>/run, with trust authentication: a throwaway server on loopback
only. Settings are those of performance-baseline.md plus the settings of a disposable bulk
load (no fsync, minimal WAL); see SETTINGS.

Other modules call `database_dsn(--dsn)`: the given DSN, else $HIRONDELLE_BENCH_DSN, else the
default server's (started if needed).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE = Path(os.environ.get("HIRONDELLE_BENCH_DIR", "/work/benchdata"))
PG_BIN = Path(os.environ.get("HIRONDELLE_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "hirondelle_bench"
SUPERUSER = "postgres"
OS_USER = "postgres"  # the system user that owns the data directory when we run as root

# performance-baseline.md, "Data set and build times", plus a disposable bulk load.
SETTINGS: dict[str, str] = {
    "shared_buffers": "4GB",
    "effective_cache_size": "16GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "2GB",
    "random_page_cost": "1.1",
    "jit": "off",
    "max_parallel_workers_per_gather": "2",
    # A benchmark database can be regenerated: never wait for the disk.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "1h",
    # pg_prewarm's autoprewarm worker reloads the buffer cache after a restart.
    "shared_preload_libraries": "'pg_prewarm'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "max_connections": "200",
    "log_min_duration_statement": "-1",
}


class BenchServerError(RuntimeError):
    """The benchmark server could not be initialised, started or reached."""


@dataclasses.dataclass(frozen=True)
class BenchServer:
    """Where the benchmark server lives and how to reach it."""

    base: Path = BASE
    bin_dir: Path = PG_BIN

    @functools.cached_property
    def major(self) -> int:
        """The major version of the PostgreSQL in bin_dir ("postgres (PostgreSQL) 15.18")."""
        done = subprocess.run(
            [str(self.bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout.split()[-1].split(".")[0])

    @property
    def pgdata(self) -> Path:
        return self.base / f"pg{self.major}"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    @property
    def logfile(self) -> Path:
        return self.base / f"postgresql-pg{self.major}.log"

    @property
    def state_file(self) -> Path:
        return self.base / f"server-pg{self.major}.json"

    @property
    def port(self) -> int:
        try:
            state = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            raise BenchServerError(
                f"no benchmark server in {self.base}: run `python -m bench.server start`"
            ) from None
        port: int = state["port"]
        return port

    def dsn(self, database: str = DATABASE) -> str:
        """The TCP DSN (127.0.0.1) of `database` on this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def socket_dsn(self, database: str = DATABASE) -> str:
        """The unix-socket DSN of `database` on this server."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    # -- life cycle ---------------------------------------------------------------------------

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists() and self.state_file.exists()

    def running(self) -> bool:
        if not self.initialised():
            return False
        done = self._run_pg("pg_ctl", "status", "-D", str(self.pgdata), check=False)
        return done.returncode == 0

    def init(self) -> None:
        """Create the data directory with initdb and write the benchmark settings."""
        if self.initialised():
            return
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        for folder in (self.base, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700)
        self._give_to_server_user(self.base, self.pgdata, self.socket_dir)
        self._run_pg(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        port = _free_port(taken=_ports_in_use(self.base))
        lines = [
            "",
            "# --- Hirondelle benchmark settings (bench/server.py) ---",
            "listen_addresses = '127.0.0.1'",
            f"port = {port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            *(f"{name} = {value}" for name, value in SETTINGS.items()),
        ]
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")
        self.state_file.write_text(json.dumps({"port": port, "pgdata": str(self.pgdata)}) + "\n")

    def start(self) -> None:
        """Initialise on first use, start if stopped, and create the benchmark database."""
        self.init()
        if not self.running():
            self._give_to_server_user(self.socket_dir)
            self._run_pg(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "120",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
            )
        self._wait_ready()
        self._create_database()

    def stop(self) -> None:
        if self.running():
            self._run_pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata))

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)

    def postmaster_pid(self) -> int:
        """The pid of the running postmaster (first line of postmaster.pid)."""
        return int((self.pgdata / "postmaster.pid").read_text().split()[0])

    # -- helpers ------------------------------------------------------------------------------

    def _run_pg(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        if check and done.returncode != 0:
            output = done.stderr.strip() or done.stdout.strip()
            raise BenchServerError(
                f"{program} failed ({done.returncode}): {output} (log: {self.logfile})"
            )
        return done

    def _give_to_server_user(self, *folders: Path) -> None:
        if os.geteuid() != 0:
            return
        user = pwd.getpwnam(OS_USER)
        for folder in folders:
            os.chown(folder, user.pw_uid, user.pw_gid)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            done = self._run_pg(
                "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, check=False
            )
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise BenchServerError(f"the server does not answer; see {self.logfile}")
            time.sleep(0.2)

    def _create_database(self) -> None:
        psql = [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port)]
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
        found = subprocess.run(
            [*psql, "-U", SUPERUSER, "-d", "postgres", "-tAc", query],
            capture_output=True,
            text=True,
            check=True,
        )
        if found.stdout.strip() != "1":
            subprocess.run(
                [*psql, "-U", SUPERUSER, "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"],
                capture_output=True,
                text=True,
                check=True,
            )


def _ports_in_use(base: Path) -> set[int]:
    """Ports of the other benchmark servers in `base`, running or not."""
    ports = set()
    for state in base.glob("server-pg*.json"):
        ports.add(int(json.loads(state.read_text())["port"]))
    return ports


def _free_port(first: int = 15433, last: int = 15532, taken: set[int] | None = None) -> int:
    """A free port below the kernel's ephemeral range, so it stays free across restarts."""
    for port in range(first, last + 1):
        if port in (taken or set()):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise BenchServerError(f"no free port between {first} and {last}")


def ensure_running(server: BenchServer | None = None) -> BenchServer:
    """Start the benchmark server if needed and return it."""
    found = server or BenchServer()
    found.start()
    return found


def database_dsn(given: str | None) -> str:
    """`given` if set (a --dsn option), else $HIRONDELLE_BENCH_DSN, else the bench server's."""
    if given:
        return given
    from_env = os.environ.get("HIRONDELLE_BENCH_DSN", "").strip()
    if from_env:
        return from_env
    return ensure_running().dsn()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["start", "stop", "status", "dsn", "destroy"])
    parser.add_argument("--pg-bin", type=Path, default=PG_BIN, help="PostgreSQL's bin directory")
    args = parser.parse_args(argv)
    server = BenchServer(bin_dir=args.pg_bin)
    if args.command == "start":
        server.start()
        print(f"running: {server.dsn()}")
        print(f"socket:  {server.socket_dsn()}")
    elif args.command == "stop":
        server.stop()
        print("stopped")
    elif args.command == "destroy":
        server.destroy()
        print(f"destroyed {server.pgdata}")
    elif args.command == "dsn":
        print(server.dsn())
    else:
        if not server.running():
            print(f"not running (data: {server.pgdata})")
            return 1
        print(f"running: {server.dsn()} (pid {server.postmaster_pid()})")
        print(f"socket:  {server.socket_dsn()}")
        print(f"data:    {server.pgdata} ({_size(server.pgdata)})")
        print(f"log:     {server.logfile}")
    return 0


def _size(folder: Path) -> str:
    done = subprocess.run(["du", "-sh", str(folder)], capture_output=True, text=True, check=False)
    return done.stdout.split()[0] if done.stdout else "?"


if __name__ == "__main__":
    sys.exit(main())
