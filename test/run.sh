#!/bin/sh
# Runs the compiled tests (npm test builds first) inside a network namespace
# that has only a loopback interface, so no test traffic, media included, can
# leave 127.0.0.0/8. Needs root (or user namespaces) for `unshare -n`.
#   sh test/run.sh                 the linter, then every test: unit tests in parallel, then integration and browser
#                                  tests one by one; every stage runs, a summary line per stage ends the output
#   sh test/run.sh dist/test/unit  only the tests under the given paths
# SHOAL_TEST_LOG=debug shows the SFU's logs, SHOAL_TEST_CLIENT_LOG=Info the test clients' libdatachannel logs.
set -eu
cd "$(dirname "$0")/.."

if [ "${SHOAL_IN_TEST_NETNS:-}" != 1 ]; then
  if ! command -v unshare >/dev/null 2>&1; then
    echo "test/run.sh: unshare (util-linux) is needed to keep test traffic on loopback" >&2
    exit 1
  fi
  flags=-n
  [ "$(id -u)" = 0 ] || flags="-rn"
  exec unshare $flags sh -c 'ip link set lo up && SHOAL_IN_TEST_NETNS=1 exec sh test/run.sh "$@"' run.sh "$@"
fi

# run CONCURRENCY PATH...: the test files under PATH..., CONCURRENCY files at a time.
run() {
  concurrency=$1
  shift
  files=$(find "$@" -name '*.test.js' 2>/dev/null | sort)
  [ -n "$files" ] || return 0
  node --test --test-reporter=spec --test-concurrency="$concurrency" $files
}

if [ $# -gt 0 ]; then
  run 1 "$@"
  exit
fi

# Every stage runs even when an earlier one failed; one summary line per stage at the end.
summary=""
failed=0
stage() {
  name=$1
  shift
  started=$(date +%s)
  if "$@"; then result=passed; else result=FAILED; failed=1; fi
  summary="${summary}stage ${name}: ${result} in $(( $(date +%s) - started )) s
"
}
stage lint npm run -s lint
stage unit run 2 dist/test/unit
# One at a time: media timing tests and the Chromium ramp-up measure better on an unloaded machine.
stage integration run 1 dist/test/integration
# Fuzzing: SHOAL_FUZZ_CASES generated cases per target (10 000 by default), see test/fuzz/kit.ts.
stage fuzz run 1 dist/test/fuzz
stage browser run 1 dist/test/browser
printf '\n%s' "$summary"
exit $failed
