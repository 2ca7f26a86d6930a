/* What every per-level kernel file (native/kernels/topk_<level>.c) shares.
 *
 * Each level file defines the same small vocabulary (a vector type of MT_W float lanes, load,
 * fused multiply-add, horizontal sum, and loads that widen float16 / int8 to float) and then
 * includes the template mastra_kernels.inc, which instantiates every kernel for that level with
 * a name suffix and ends with the level's kernel table. mastra_cpu.h picks a table at run time.
 *
 * How a level gets its instructions: GCC and clang compile each kernel function with
 * __attribute__((target(...))) (MT_TARGET_*), so the file needs no flags; MSVC has no such
 * attribute and compiles the whole file for the level instead (/arch:AVX2, /arch:AVX512, set in
 * CMakeLists.txt). Either way only the dispatcher decides whether the code runs.
 */
#ifndef MASTRA_SIMD_OPS_H
#define MASTRA_SIMD_OPS_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#include "mastra_topk.h"

#if defined(MASTRA_X86)
#include <immintrin.h>
#elif defined(MASTRA_ARM64)
#include <arm_neon.h>
#endif

/* MASTRA_PER_FILE_FLAGS makes GCC and clang build the MSVC way (the level's flags on its whole
 * file), which tools/check_portable.sh runs on CPUs without those instructions. */
#if defined(MASTRA_MSVC) || defined(MASTRA_PER_FILE_FLAGS)
#define MT_TARGET_AVX2
#define MT_TARGET_AVX512
#else
#define MT_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define MT_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#endif
#if defined(MASTRA_MSVC)
#define MT_UNROLL4
#else
#define MT_UNROLL4 _Pragma("GCC unroll 4")
#endif

/* IEEE half -> float in software, for the scalar level and the tails. */
static inline float mt_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                exp--;
            }
            bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#endif /* MASTRA_SIMD_OPS_H */
