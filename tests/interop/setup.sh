#!/bin/sh
# Install the third-party ActivityPub software that tests/interop runs Hirondelle against.
# Idempotent, and fast once done (it only checks stamps); scripts/test runs it before pytest.
#
#   Node 22 + Fedify 2.3.6  from npm, into tests/interop/.node (`npm ci`: exactly the committed
#                           package-lock.json; package.json pins the direct dependencies).
#                           tests/interop/node_modules links to it, so fedify_peer.mjs resolves
#                           its imports. The system Node may be older: the peer runs with
#                           tests/interop/.node/node_modules/.bin/node (npm package node@22).
#   bovine 0.5.19           from PyPI, into its own venv tests/interop/.venv-bovine (it pins
#                           cryptography 45 and PyLD 2.0.4, which Hirondelle's venv cannot have).
#
# Needs python3 >= 3.11 ($PYTHON) and the npm registry and PyPI. npm is used when installed;
# otherwise Node 22 and npm are fetched from the npm registry (node_setup.py bootstrap).
# Versions change only on purpose: edit package.json, run `sh tests/interop/setup.sh
# --update-lock`, commit package-lock.json (npm's output, checked by node_setup.py check-lock).
set -eu
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
say() { echo "interop setup: $*"; }
stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }
UPDATE_LOCK=no
[ "${1:-}" = "--update-lock" ] && UPDATE_LOCK=yes

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { say "$PYTHON is older than 3.11 (bovine needs 3.11)"; exit 1; }

# --- Node 22 + Fedify -------------------------------------------------------------------
node_ready() {
    [ -f .node/.installed ] && [ "$(cat .node/.installed)" = "$(stamp package.json package-lock.json)" ] &&
        [ -f .node/node_modules/@fedify/fedify/package.json ] &&
        case "$(.node/node_modules/.bin/node --version 2>/dev/null)" in v22.*) true ;; *) false ;; esac
}

if [ "$UPDATE_LOCK" = no ] && node_ready; then
    say "Node $(.node/node_modules/.bin/node --version) + Fedify: up to date in tests/interop/.node"
else
    [ "$UPDATE_LOCK" = yes ] || "$PYTHON" node_setup.py check-lock package-lock.json
    mkdir -p .node
    if ! command -v npm >/dev/null 2>&1; then
        say "no npm on PATH: fetching Node 22 and npm from the npm registry into .node/bootstrap"
        "$PYTHON" node_setup.py bootstrap .node/bootstrap
        PATH="$(pwd)/.node/bootstrap/bin:$PATH"
        export PATH
    fi
    rm -f .node/.installed
    cp package.json .node/package.json
    if [ "$UPDATE_LOCK" = yes ]; then
        say "resolving package.json anew with npm $(npm --version) (--update-lock)"
        rm -rf .node/node_modules .node/package-lock.json
        (cd .node && npm install --no-audit --no-fund --omit-lockfile-registry-resolved --loglevel=error)
        cp .node/package-lock.json package-lock.json
        "$PYTHON" node_setup.py check-lock package-lock.json
    else
        say "installing Node 22 + Fedify with npm $(npm --version): npm ci (package-lock.json)"
        cp package-lock.json .node/package-lock.json
        npm ci --prefix .node --no-audit --no-fund --loglevel=error
    fi
    stamp package.json package-lock.json >.node/.installed
    node_ready || { say "Node 22 + Fedify are still not usable in tests/interop/.node"; exit 1; }
    say "installed Node $(.node/node_modules/.bin/node --version) and @fedify/fedify into tests/interop/.node"
fi
if [ -e node_modules ] && [ ! -L node_modules ]; then
    say "tests/interop/node_modules is not the expected link to .node/node_modules: remove it"
    exit 1
fi
ln -sfn .node/node_modules node_modules

# --- bovine ---------------------------------------------------------------------------------
bovine_ready() {
    [ -f .venv-bovine/.installed ] && [ "$(cat .venv-bovine/.installed)" = "$(stamp requirements-bovine.txt)" ] &&
        .venv-bovine/bin/python -c 'import bovine, aiohttp' 2>/dev/null
}

if bovine_ready; then
    say "bovine: up to date in tests/interop/.venv-bovine"
else
    say "installing bovine into tests/interop/.venv-bovine (requirements-bovine.txt, with $PYTHON)"
    rm -rf .venv-bovine
    "$PYTHON" -m venv .venv-bovine
    .venv-bovine/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bovine.txt
    stamp requirements-bovine.txt >.venv-bovine/.installed
    bovine_ready || { say "bovine is still not importable in tests/interop/.venv-bovine"; exit 1; }
    say "installed $(.venv-bovine/bin/python -m pip list --disable-pip-version-check 2>/dev/null | grep -i '^bovine ')"
fi
