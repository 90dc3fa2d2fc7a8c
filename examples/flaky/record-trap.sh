#!/usr/bin/env bash
# Records examples/flaky/trap.deja, the bundled trace of a failing run that traps (integer
# divide by zero), which `deja debug` and the terminal UI's tests open. The flaky example fails
# in two ways (a trap, or exit code 1 when over budget); this records until the failure is the
# trap. Run it again after rebuilding flaky.wasm: the trace embeds the module.
set -euo pipefail
cd "$(dirname "$0")"
deja=${DEJA:-../../target/release/deja}
for attempt in $(seq 1 50); do
    status=0
    "$deja" record --force -o trap.deja --until-failure 100 --dir data::data flaky.wasm \
        >/dev/null 2>&1 || status=$?
    if [ "$status" = 134 ]; then
        echo "recorded examples/flaky/trap.deja (attempt $attempt)"
        exit 0
    fi
done
echo "no trapping run in 50 attempts" >&2
exit 1
