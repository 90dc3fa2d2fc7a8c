#!/usr/bin/env bash
# Rebuilds the DWARF test programs (Debian: clang lld wasi-libc libclang-rt-dev-wasm32).
set -euo pipefail
cd "$(dirname "$0")"
clang --target=wasm32-wasi -O0 -g -o shapes-O0.wasm shapes.c
clang --target=wasm32-wasi -O2 -g -o shapes-O2.wasm shapes.c
clang --target=wasm32-wasi -O2 -g -o consts-O2.wasm consts.c
clang++ --target=wasm32-wasi -O0 -g -fno-exceptions -fno-rtti -nostdlib++ -o classes-O0.wasm classes.cpp
