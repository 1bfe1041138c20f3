#!/bin/sh
# What the test suite needs from the system, installed if missing (Debian; as root). Run by
# `npm test` before jest, and by .ci/run. Nothing is installed when everything is present.
#   cc, make            the addon and the C peers the tests compile
#   python3             node-gyp and the Python peers
#   python3-sysv-ipc    the Python peer of the System V queue tests (Debian installs it for
#                       /usr/bin/python3 only, which is the one the tests run)
#   util-linux          unshare and mount (the full-/dev/shm test), ipcrm (queue clean-up)
#   g++-mingw-w64-x86-64  the Windows prebuild that `npm pack` cross-builds (the pack test);
#                       npm run test:win installs Wine itself (scripts/win/env.sh)
set -eu
need=""
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v g++ >/dev/null 2>&1 || need="$need g++"
command -v make >/dev/null 2>&1 || need="$need make"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v mkfifo >/dev/null 2>&1 || need="$need coreutils"
{ command -v unshare && command -v ipcrm; } >/dev/null 2>&1 || need="$need util-linux"
command -v x86_64-w64-mingw32-g++-posix >/dev/null 2>&1 || need="$need g++-mingw-w64-x86-64"
/usr/bin/python3 -c 'import sysv_ipc' >/dev/null 2>&1 || need="$need python3-sysv-ipc"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "The tests need these Debian packages:$need" >&2
  echo "Install them (sudo apt-get install$need) and run the tests again." >&2
  exit 1
fi
echo "Installing the test suite's system packages:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
