#!/usr/bin/env bash
# Cross-compile the top-k kernels for arm64 and run their NEON level against the scalar one
# under qemu (Debian: apt-get install gcc-aarch64-linux-gnu qemu-user).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
aarch64-linux-gnu-gcc -O3 -Wall -Wextra -Wno-unused-function -static -Inative/include \
    native/tests/simd_levels.c -o "$out/simd_levels" -lm -lpthread
qemu-aarch64 "$out/simd_levels"
