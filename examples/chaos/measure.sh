#!/usr/bin/env bash
# Reproduces the "Hunting flaky failures" figures of BENCHMARKS.md:
#  1. runs to failure of each chaos example, under `--chaos=SEED` for SEEDS seeds (one job, so
#     that the run number is exact), and the failures plain re-running finds in the same budget;
#  2. attempts per second of a hunt that finds nothing, with --jobs 1 and --jobs 2.
# Usage (from the repository root, after `cargo build --release`):
#   examples/chaos/measure.sh            # SEEDS=21 BUDGET=1000 RUNS=3000 REPS=5 by default
set -euo pipefail
deja=$(realpath "${DEJA:-${CARGO_TARGET_DIR:-target}/release/deja}")
examples=$(realpath "$(dirname "$0")")
seeds=${SEEDS:-21}
budget=${BUDGET:-1000}
runs=${RUNS:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$examples/data" "$work/"
cd "$work"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "| example | runs to failure with --chaos (median of $seeds seeds) | min | max | failures without --chaos in $budget runs |"
echo "|---|---|---|---|---|"
for g in readall rate walk retry; do
    found=()
    for seed in $(seq 1 "$seeds"); do
        err=$("$deja" record -o t.deja --force --until-failure "$budget" --chaos="$seed" -j 1 \
            --dir data::data "$examples/$g.wasm" 2>&1 >/dev/null || true)
        k=$(sed -n 's/^deja: failed on run \([0-9]*\) of .*/\1/p' <<<"$err")
        found+=("${k:-$((budget + 1))}")
    done
    med=$(printf '%s\n' "${found[@]}" | median)
    min=$(printf '%s\n' "${found[@]}" | sort -n | head -1)
    max=$(printf '%s\n' "${found[@]}" | sort -n | tail -1)
    err=$("$deja" record -o p.deja --force --until-failure "$budget" -j 1 --dir data::data \
        "$examples/$g.wasm" 2>&1 >/dev/null || true)
    if grep -q "all $budget runs passed" <<<"$err"; then plain=0; else plain="failed on $(sed -n 's/^deja: failed on run \([0-9]*\) of .*/run \1/p' <<<"$err")"; fi
    echo "| $g | $med | $min | $max | $plain |"
done

echo
# The machine is shared, so each figure is the best of REPS hunts, alternating the job counts.
reps=${REPS:-5}
echo "| example | runs | --jobs 1 (runs/s, best of $reps) | --jobs 2 (runs/s, best of $reps) | speed-up |"
echo "|---|---|---|---|---|"
for g in readall rate walk retry; do
    best1=0
    best2=0
    for _ in $(seq 1 "$reps"); do
        for j in 1 2; do
            err=$("$deja" record -o q.deja --force --until-failure "$runs" -j "$j" \
                --dir data::data "$examples/$g.wasm" 2>&1 >/dev/null)
            r=$(sed -n 's/.*(\([0-9.]*\) runs\/s)).*/\1/p' <<<"$err")
            if [ "$j" = 1 ]; then
                best1=$(awk "BEGIN { print ($r > $best1) ? $r : $best1 }")
            else
                best2=$(awk "BEGIN { print ($r > $best2) ? $r : $best2 }")
            fi
        done
    done
    echo "| $g | $runs | $best1 | $best2 | $(awk "BEGIN { printf \"%.2f\", $best2 / $best1 }") |"
done
