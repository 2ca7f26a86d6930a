#!/usr/bin/env bash
# The C kernels under each compiler family the wheels are built with, from this x86-64 Linux:
#   gcc, clang            natively: the best SIMD level against scalar (native/tests/simd_levels.c)
#                         and the CPU probe against the compiler's own (native/tests/cpu_features.c)
#   gcc, every CPU        the same program on emulated x86-64 CPUs without AVX-512 (Haswell) and
#                         without AVX (Nehalem), which must pick AVX2 and scalar and run them (and
#                         the int8 kernels without VNNI); also built the MSVC way (each level's
#                         flags on its whole file)
#   MinGW-w64             as Windows x86-64 programs (Windows threads, CPUID on Windows), run
#                         under Wine
#   gcc, clang for arm64  NEON against scalar, run under qemu-aarch64 on a CPU with the dot-product
#                         instructions (SDOT; the int8 kernels use them) and on one without
# All with the project's warning flags (CMakeLists.txt) and -Werror. MSVC itself cannot run
# here; its only own lines are the two intrinsics behind the probe and the /arch flags.
# Installs the Debian packages it needs when they are missing, and fails when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
command -v clang >/dev/null || missing+=(clang)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
[[ -e /usr/aarch64-linux-gnu/lib/libc.a ]] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null && command -v qemu-x86_64 >/dev/null || missing+=(qemu-user)
wine=/usr/lib/wine/wine64
[[ -x $wine ]] || missing+=(wine64)
source tools/debian.sh
need_debs check_portable "${missing[@]}"

# The GCC/clang flags of CMakeLists.txt, so this check builds what the wheels build.
read -r -a flags <<<"$(sed -n '/set(MASTRA_C_FLAGS -O3/,/)/p' CMakeLists.txt |
    tr -d '()' | sed 's/set//; s/MASTRA_C_FLAGS//' | tr '\n' ' ')"
[[ ${flags[0]:-} == -O3 ]] || { echo "check_portable: no GCC flags in CMakeLists.txt" >&2; exit 1; }
flags+=(-Werror -Inative/include)
kernels=(native/kernels/*.c)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

build() { # build NAME COMPILER [ARGS...]: NAME-simd and NAME-cpu (NAME may end in .exe)
    local name=$1 cc=$2
    shift 2
    "$cc" "${flags[@]}" "$@" native/tests/simd_levels.c "${kernels[@]}" \
        -o "$out/${name/./-simd.}" -lm
    "$cc" "${flags[@]}" "$@" native/tests/cpu_features.c -o "$out/${name/./-cpu.}"
}
fail() { echo "check_portable: FAILED: $*" >&2; exit 1; }
run() { # run LABEL COMMAND...: print the program's verdict under a label, fail with it
    local label=$1
    shift
    "$@" | sed "s/^/$label: /" || fail "$label: $*"
}
on_cpu() { # on_cpu QEMU MODEL LEVEL INT8 PROGRAM: simd_levels on an emulated CPU MODEL must run
    # LEVEL and the int8 variant INT8
    local got
    got=$("$1" -cpu "$2" "$out/$5" 2> >(grep -v "TCG doesn't support" >&2)) ||
        fail "$5 on $2: $got"
    echo "$5 on emulated $2: $got"
    [[ $got == "level=$3 int8=$4 mismatches=0" ]] || fail "$5 on $2 should run $3 and $4"
}

build gcc.elf gcc -pthread
run "gcc x86-64" "$out/gcc-simd.elf"
run "gcc x86-64" "$out/gcc-cpu.elf"
build clang.elf clang -pthread
run "clang x86-64" "$out/clang-simd.elf"
run "clang x86-64" "$out/clang-cpu.elf"

# The MSVC way with gcc: no target attributes, each level's instructions on its whole file.
per_file=("${flags[@]}" -DMASTRA_PER_FILE_FLAGS -c)
gcc "${per_file[@]}" native/kernels/topk_scalar.c -o "$out/scalar.o"
gcc "${per_file[@]}" -mavx2 -mfma -mf16c native/kernels/topk_avx2.c -o "$out/avx2.o"
gcc "${per_file[@]}" -mavx2 -mfma -mf16c -mavxvnni native/kernels/topk_avx2vnni.c \
    -o "$out/avx2vnni.o"
avx512=(-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c)
gcc "${per_file[@]}" "${avx512[@]}" native/kernels/topk_avx512.c -o "$out/avx512.o"
gcc "${per_file[@]}" "${avx512[@]}" -mavx512vnni native/kernels/topk_avx512vnni.c \
    -o "$out/avx512vnni.o"
gcc "${flags[@]}" -DMASTRA_PER_FILE_FLAGS -static -pthread native/tests/simd_levels.c \
    "$out"/scalar.o "$out"/avx2.o "$out"/avx2vnni.o "$out"/avx512.o "$out"/avx512vnni.o \
    -o "$out/per-file.elf" -lm
run "gcc x86-64, per-file flags" "$out/per-file.elf"
gcc "${flags[@]}" -static -pthread native/tests/simd_levels.c "${kernels[@]}" \
    -o "$out/attributes.elf" -lm
for program in attributes.elf per-file.elf; do
    on_cpu qemu-x86_64 Haswell avx2 avx2 "$program"
    on_cpu qemu-x86_64 Nehalem scalar scalar "$program"
done

build mingw.exe x86_64-w64-mingw32-gcc -static
export WINEPREFIX="$out/wine" WINEDEBUG=-all
quiet_wine() { "$wine" "$@" 2> >(grep -v '^wine: ' >&2); } # drop its prefix set-up notes
run "mingw-w64 (Wine)" quiet_wine "$out/mingw-simd.exe"
run "mingw-w64 (Wine)" quiet_wine "$out/mingw-cpu.exe"

arm=(-static -pthread)
aarch64-linux-gnu-gcc "${flags[@]}" "${arm[@]}" native/tests/simd_levels.c "${kernels[@]}" \
    -o "$out/arm-gcc" -lm
clang --target=aarch64-linux-gnu "${flags[@]}" "${arm[@]}" native/tests/simd_levels.c \
    "${kernels[@]}" -o "$out/arm-clang" -lm
for program in arm-gcc arm-clang; do
    on_cpu qemu-aarch64 max neon neon-dotprod "$program"    # Armv8.2+: SDOT
    on_cpu qemu-aarch64 cortex-a57 neon neon "$program"     # Armv8.0: no SDOT
done
# the C headers of the Cython modules that need no Python.h (the chunk scan and its per-level
# variants) compile warning-free under every compiler too; the test suite checks their code
headers="mastra_textscan.h"
for cc in gcc clang x86_64-w64-mingw32-gcc aarch64-linux-gnu-gcc "clang --target=aarch64-linux-gnu"; do
    for header in $headers; do
        printf '#include "%s"\nint main(void) { return 0; }\n' "$header" |
            $cc "${flags[@]}" -Wno-unused-function -fsyntax-only -x c - ||
            fail "$header under $cc"
    done
    echo "$cc: headers $headers compile"
done
echo "check_portable: OK"
