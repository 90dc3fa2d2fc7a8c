#!/usr/bin/env bash
# Rebuilds the C examples to WebAssembly. The .wasm files are committed, so a fresh machine
# needs no C toolchain; this script needs Debian's clang, lld, wasi-libc and
# libclang-rt-dev-wasm32 (apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32).
set -euo pipefail
cd "$(dirname "$0")"
clang --target=wasm32-wasi -O2 -g -o flaky/flaky.wasm flaky/flaky.c
echo "built examples/flaky/flaky.wasm"
# The LLDB example (`deja serve`): at -O0, so that LLDB can read every variable.
clang --target=wasm32-wasi -O0 -g -o serve/bank.wasm serve/bank.c
echo "built examples/serve/bank.wasm"
# The chaos examples: each one's bug needs a host behaviour that `deja record --chaos` makes
# likely (see the comment at the top of each file).
for guest in readall rate walk retry; do
    clang --target=wasm32-wasi -O2 -g -o "chaos/$guest.wasm" "chaos/$guest.c"
    echo "built examples/chaos/$guest.wasm"
done
