"""Export a commit of the project, with the current bench/, to benchmark a stable tree.

    python -m bench.snapshot            # HEAD -> /work/benchdata/src/<commit>/, prints the path
    python -m bench.snapshot 7100caa    # any revision

The working tree changes under the benchmarks' feet when people edit it (an import may break
half-way through an edit, a new migration may be half-written). A snapshot is `git archive
<rev>` plus a copy of this bench/ directory; run the benchmarks from inside it:

    cd "$(python -m bench.snapshot)" && /work/venv/bin/python -m bench.generate …

Python puts the current directory first on sys.path, so the snapshot's `directory`, `matching`
and `migrations` are the ones imported and applied (they shadow the editable install).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from bench.common import WORK

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent


def snapshot(revision: str) -> Path:
    """Export `revision` (and the current bench/) once; return the directory."""
    commit = subprocess.run(
        ["git", "-C", str(REPOSITORY), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = WORK.parent / "src" / commit[:12]
    if not (target / "directory").is_dir():
        archive = subprocess.run(
            ["git", "-C", str(REPOSITORY), "archive", "--format=tar", commit],
            capture_output=True,
            check=True,
        ).stdout
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    shutil.copytree(
        BENCH,
        target / "bench",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "results"),
    )
    (target / "COMMIT").write_text(commit + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.snapshot", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("revision", nargs="?", default="HEAD")
    args = parser.parse_args(argv)
    print(snapshot(args.revision))
    return 0


if __name__ == "__main__":
    sys.exit(main())
