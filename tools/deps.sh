#!/bin/sh
# tools/deps.sh — installs the Debian packages edgellm's build, tests and CI use, skipping
# what is already there. Run as root (or through sudo). Safe to run again.
set -e
pkgs="make gcc libc6-dev clang libclang-rt-14-dev llvm python3
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
      libcjson-dev libmicrohttpd-dev curl ca-certificates"
missing=""
# Node.js + npm run the server tests' official `openai` client (tests/server). A nodejs from
# elsewhere (e.g. nodesource, which bundles npm) is fine: only missing commands are installed.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
node_deps() { # the npm packages of tests/server, from its package-lock.json
    [ -d "$(dirname "$0")/../tests/server/node_modules/openai" ] && return 0
    (cd "$(dirname "$0")/../tests/server" && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "deps: npm ci in tests/server failed (the server tests will say so)"
}
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all present"
    node_deps
    exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
node_deps
