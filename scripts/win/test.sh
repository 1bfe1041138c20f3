#!/usr/bin/env bash
# npm run test:win: the Windows test suite, on Linux. Installs what is missing (mingw-w64 and Wine
# from Debian, node.exe and jest 29 from the npm registry, a Wine prefix in .cache/win/), cross-
# builds the addon (scripts/win/build.js), compiles the TypeScript, and runs jest.win.config.js
# (test/win/ and test/portable/) under a genuine Windows node.exe. Arguments go to jest.
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_mingw
ensure_wine

# jest 29 for Windows, apart from the project's own node_modules (see jest.win.config.js).
RUNNER="$WIN_CACHE/runner"
mkdir -p "$RUNNER"
cat >"$RUNNER/package.json.new" <<'JSON'
{ "name": "ipckit-win-runner", "private": true, "dependencies": { "jest": "29.7.0", "ts-jest": "29.4.15", "typescript": "5.9.3" } }
JSON
if ! cmp -s "$RUNNER/package.json.new" "$RUNNER/package.json" || [ ! -d "$RUNNER/node_modules/jest" ]; then
  mv "$RUNNER/package.json.new" "$RUNNER/package.json"
  echo "Installing jest 29 for the Windows run in $RUNNER"
  (cd "$RUNNER" && npm install --silent --no-audit --no-fund --os=win32 --cpu=x64)
else
  rm -f "$RUNNER/package.json.new"
fi

node scripts/win/build.js
npm run --silent compile

to_win() { printf 'Z:%s' "$1"; }

# The package as users get it, for test/win/package.test.ts: npm pack runs prepack, which builds
# both prebuilds and checks them. IPCKIT_WIN_PACK=0 skips it (that test then fails, saying why).
if [ "${IPCKIT_WIN_PACK:-1}" != 0 ]; then
  PACK="$WIN_CACHE/pack"
  rm -rf "$PACK"
  mkdir -p "$PACK"
  npm pack --silent --pack-destination "$PACK" >"$PACK/log" 2>&1 || { cat "$PACK/log" >&2; exit 1; }
  IPCKIT_WIN_TARBALL="$(to_win "$(ls "$PACK"/ipckit-*.tgz)")"
  export IPCKIT_WIN_TARBALL
fi

status=0
# jest's own launcher prefers a jest installed where it starts, so it starts in the runner's folder.
(cd "$RUNNER" && PREBUILDS_ONLY=1 IPCKIT_WIN_TIMEOUT="${IPCKIT_WIN_TIMEOUT:-1800}" \
  win_node "$(to_win "$RUNNER/node_modules/jest/bin/jest.js")" --config "$(to_win "$ROOT/jest.win.config.js")" \
  --rootDir "$(to_win "$ROOT")" "$@") || status=$?
# Nothing of the run may linger: a hung pipe or a leftover node.exe ends here.
wineserver -k 2>/dev/null || true
if [ $status -eq 124 ]; then echo "test:win: the Windows run timed out" >&2; fi
exit $status
