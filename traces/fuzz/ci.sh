#!/usr/bin/env bash
# Bounded fuzz run of the trace reader for CI: installs cargo-fuzz if needed, then fuzzes from
# the committed seeds for a fixed time. cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets
# the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/reader
RUSTC_BOOTSTRAP=1 cargo fuzz run reader fuzz/corpus/reader fuzz/seeds/reader -- \
    -max_total_time="${DEJA_FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -timeout=10
