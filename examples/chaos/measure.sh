#!/usr/bin/env bash
# Reproduces the "Hunting flaky failures" figures of BENCHMARKS.md:
#  1. runs to failure of each chaos example, under `--chaos=SEED` for SEEDS seeds (one job, so
#     that the run number is exact), and the failures plain re-running finds in the same budget;
#  2. attempts per second of a hunt that finds nothing, with --jobs 1 and --jobs 2.
# Usage (from the repository root, after `cargo build --release`):
#   examples/chaos/measure.sh            # SEEDS=21 BUDGET=1000 RUNS=3000 by default
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
echo "| example | runs | --jobs 1 (runs/s) | --jobs 2 (runs/s) | speed-up |"
echo "|---|---|---|---|---|"
for g in readall rate walk retry; do
    rate=()
    for j in 1 2; do
        err=$("$deja" record -o q.deja --force --until-failure "$runs" -j "$j" --dir data::data \
            "$examples/$g.wasm" 2>&1 >/dev/null)
        rate+=("$(sed -n 's/.*(\([0-9.]*\) runs\/s)).*/\1/p' <<<"$err")")
    done
    echo "| $g | $runs | ${rate[0]} | ${rate[1]} | $(awk "BEGIN { printf \"%.2f\", ${rate[1]} / ${rate[0]} }") |"
done
