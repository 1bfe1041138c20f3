#!/usr/bin/env bash
# Lint and format checks, run by .ci/run and `npm run lint`. Exits non-zero on any finding.
#   scripts/lint.sh                 eslint, prettier --check, clang-format --dry-run -Werror
#   scripts/lint.sh --format-check  only the two format checks       (npm run format:check)
#   scripts/lint.sh --write         rewrites the files in place       (npm run format)
# What each tool covers: eslint.config.mjs (lib, test, scripts, bench, examples, the root
# modules), .prettierignore (prettier: the same plus JSON), and c_sources below (clang-format).
# Every check runs even when an earlier one failed, so that one run shows all findings.
set -uo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}
case "$mode" in
  all | --format-check | --write) ;;
  *) echo "usage: $0 [--format-check | --write]" >&2; exit 2 ;;
esac

# The style in .clang-format is clang-format 14's (Debian 12): another major version may lay the
# same code out differently, so 14 is preferred where it is installed under its own name.
clang_format=${CLANG_FORMAT:-}
if [ -z "$clang_format" ]; then
  if command -v clang-format-14 >/dev/null 2>&1; then clang_format=clang-format-14; else clang_format=clang-format; fi
fi

c_sources() {
  find native -type f \( -name '*.cc' -o -name '*.h' \)
  find test/c -type f \( -name '*.c' -o -name '*.h' \)
  find bench -maxdepth 1 -type f -name '*.c'
}
mapfile -t sources < <(c_sources | LC_ALL=C sort)

# The project's own copies (npm install brings them), never one fetched on the fly.
bin=node_modules/.bin
failed=()
run() {
  local name=$1
  shift
  echo "== $name"
  "$@" || failed+=("$name")
}

if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "$clang_format not found: install Debian's clang-format package (apt-get install clang-format)" >&2
  failed+=(clang-format)
  clang_format=
elif ! "$clang_format" --version | grep -q 'version 14\.'; then
  echo "warning: $("$clang_format" --version) is not clang-format 14; its layout may differ from CI's" >&2
fi

if [ "$mode" = --write ]; then
  run prettier "$bin/prettier" --write --log-level warn .
  [ -n "$clang_format" ] && run clang-format "$clang_format" -i "${sources[@]}"
else
  [ "$mode" = all ] && run eslint "$bin/eslint" --max-warnings 0 .
  run prettier "$bin/prettier" --check --log-level warn .
  [ -n "$clang_format" ] && run clang-format "$clang_format" --dry-run -Werror "${sources[@]}"
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: failed: ${failed[*]}" >&2
  [ "$mode" = --write ] || echo "(npm run format rewrites the files prettier and clang-format flag)" >&2
  exit 1
fi
echo "lint: ok"
