#!/usr/bin/env bash
# Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer and runs the native tests
# and a fuzz run (test/lifecycle/fuzz.test.ts) against it. Any sanitizer report fails the script.
#
# The sanitized build lives in a copy of the checkout ($SANITIZE_DIR, a temporary directory by
# default), so build/Release and dist/ of the checkout are never touched. binding.gyp is not
# edited either: node-gyp's generated Makefile takes CXXFLAGS and LDFLAGS from the environment.
#
# Node itself is not instrumented, so the ASan runtime must be loaded before anything else:
# LD_PRELOAD of g++'s libasan.so (the addon's libubsan dependency then loads normally). The
# ASan options, and why:
#   detect_leaks=0            Node leaks by design at exit (even `node -e 0` reports 40 bytes); a
#                             suppressions file would have to track Node's internals. The addon's
#                             resources are checked for leaks by the fuzzer (fds, names, ids).
#   allow_user_segv_handler=0 Node installs its own SIGSEGV handler, which would replace ASan's:
#                             a wild write then ends as a bare "Segmentation fault" with no report.
#   halt_on_error=1, abort_on_error=1
#                             the first report ends the process with SIGABRT, which the tests and
#                             the fuzzer see as a crash.
#   log_path                  ASan reports go to files, so that one in a child whose stderr a test
#                             swallows still fails the script.
# UBSan's log_path is not honoured when it runs inside ASan (GCC 12 links libubsan as a plugin of
# libasan, whose copy of the report-path setting it never sees: even a plain C program compiled
# with -fsanitize=address,undefined reports to stderr). With halt_on_error and abort_on_error an
# undefined-behaviour report kills its process with SIGABRT, which fails the test or fuzz run, and
# the jest output is scanned for reports as well.
#
# Environment: SANITIZE_FUZZ_RUNS (fuzz runs, default 150), SANITIZE_FUZZ_SEED (default random),
# SANITIZE_JEST_WORKERS (default 2), SANITIZE_DIR (where to build; kept if given), SANITIZE_SKIP_FUZZ=1,
# SANITIZE_TESTS (test paths to run instead of all).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# Tests that cannot run under ASan, and why. Each entry: file|test name (a regex)|reason.
EXCLUDED=(
  "test/kernel/shm.test.ts|touching it then raises SIGBUS|expects the process to die by SIGBUS; ASan handles SIGBUS itself (handle_sigbus) and reports it instead"
  "test/interop/fd-passing.test.ts|why seals matter|expects a child to die by SIGBUS when an unsealed memfd shrinks under its mapping; ASan handles SIGBUS itself and reports it instead"
  "test/lifecycle/fuzz.test.ts|address space capped|caps RLIMIT_AS a little above the process's size; ASan reserves terabytes of shadow memory, so nothing could run"
  "test/package/pack-install.test.ts|.|packs and installs a prebuild built without sanitizers: it tests packaging, and the addon it loads is not the sanitized one"
)

start_all=$(date +%s)
phase() { echo "== sanitize: $* ($(( $(date +%s) - start_all )) s)"; }

if [ -n "${SANITIZE_DIR:-}" ]; then
  STAGE=$SANITIZE_DIR
  mkdir -p "$STAGE"
  KEEP=1
else
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/ipckit-sanitize.XXXXXX")
  KEEP=0
fi
REPORTS=$STAGE/sanitizer-reports
cleanup() { if [ "$KEEP" = 0 ]; then rm -rf "$STAGE"; fi; }
trap cleanup EXIT

phase "copying the checkout to $STAGE"
NODE_MODULES=$(readlink -f node_modules)
# Tracked files and new ones not ignored (a fresh clone has only the former).
git ls-files -co --exclude-standard | grep -v '^node_modules$' | tar -cf - -T - | tar -xf - -C "$STAGE"
rm -rf "$STAGE/node_modules" "$STAGE/build" "$STAGE/dist"
ln -s "$NODE_MODULES" "$STAGE/node_modules"
cd "$STAGE"

phase "building the addon with -fsanitize=address,undefined"
SANITIZE_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
CXXFLAGS="$SANITIZE_FLAGS" CFLAGS="$SANITIZE_FLAGS" LDFLAGS="-fsanitize=address,undefined" \
  npx node-gyp rebuild -j 2 > "$STAGE/build.log" 2>&1 || { tail -50 "$STAGE/build.log"; exit 1; }
if ! ldd build/Release/ipckit.node | grep -q libasan; then
  echo "sanitize: build/Release/ipckit.node is not linked with libasan; CXXFLAGS/LDFLAGS were not applied" >&2
  exit 1
fi
npx tsc -p tsconfig.build.json

LIBASAN=$(g++ -print-file-name=libasan.so)
mkdir -p "$REPORTS"
export LD_PRELOAD=$LIBASAN
export ASAN_OPTIONS="detect_leaks=0:allow_user_segv_handler=0:halt_on_error=1:abort_on_error=1:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$REPORTS/ubsan"

# Every test file but the fuzz test (run below with a fixed count), minus the exclusions.
ignore_files=()
skip_names=()
echo "Excluded under ASan:"
for entry in "${EXCLUDED[@]}"; do
  IFS='|' read -r file name reason <<< "$entry"
  echo "  $file${name:+ ($name)}: $reason"
  if [ "$name" = "." ]; then ignore_files+=("$file"); else skip_names+=("$name"); fi
done
skip_regex=$(IFS='|'; echo "${skip_names[*]}")
ignore_regex=$(IFS='|'; echo "${ignore_files[*]}")
workers=${SANITIZE_JEST_WORKERS:-2}

status=0
phase "native tests under ASan/UBSan"
# shellcheck disable=SC2086 # SANITIZE_TESTS is a list of paths
npx jest --ci --passWithNoTests --maxWorkers="$workers" --testPathIgnorePatterns "($ignore_regex|test/lifecycle/fuzz.test.ts|test/win/)" \
  -t "^(?!.*($skip_regex)).*" ${SANITIZE_TESTS:-} 2>&1 | tee "$STAGE/jest-native.log" || status=1

if [ "${SANITIZE_SKIP_FUZZ:-0}" != 1 ]; then
  phase "fuzz run under ASan/UBSan"
  # Survey mode: an invariant violation is recorded and the runs go on (memory errors are what this
  # job is for); the first crash still ends it.
  FUZZ_RUNS=${SANITIZE_FUZZ_RUNS:-150} FUZZ_SEED=${SANITIZE_FUZZ_SEED:-$RANDOM$RANDOM} FUZZ_SURVEY=1 \
    npx jest --ci test/lifecycle/fuzz.test.ts -t "^(?!.*($skip_regex)).*" 2>&1 | tee "$STAGE/jest-fuzz.log" || status=1
fi

phase "checking for sanitizer reports"
if grep -hE "runtime error:|ERROR: AddressSanitizer|ASan runtime does not come first" "$STAGE"/jest-*.log > "$STAGE/in-output.txt"; then
  echo "sanitize: sanitizer reports in the test output:" >&2
  sort -u "$STAGE/in-output.txt" | head -20 >&2
  status=1
fi
if compgen -G "$REPORTS/*" > /dev/null; then
  for report in "$REPORTS"/*; do
    echo "---- $report"
    head -80 "$report"
  done
  echo "sanitize: $(ls "$REPORTS" | wc -l) sanitizer report(s)" >&2
  status=1
fi
phase "done, status $status"
exit $status
