#!/bin/sh
# `npm run bench -- ARGS`: runs `shoal bench ARGS` inside a network namespace
# that has only loopback (when this user may create one), so no benchmark
# traffic can leave 127.0.0.0/8; everything binds 127.0.0.1 in any case.
set -eu
cd "$(dirname "$0")/.."
if [ "${SHOAL_IN_BENCH_NETNS:-}" != 1 ] && command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && SHOAL_IN_BENCH_NETNS=1 exec sh bench/run.sh "$@"' run.sh "$@"
fi
exec node dist/control/cli/main.js bench "$@"
