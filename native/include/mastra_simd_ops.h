/* Per-level vector operations for the kernel template (mastra_kernels.inc).
 *
 * Each MT_LEVEL_* block defines the same small vocabulary (a vector type of MT_W float lanes,
 * load, fused multiply-add, horizontal sum, and loads that widen float16 / int8 to float) and
 * then includes the template, which instantiates every kernel for that level with a name
 * suffix. Wheels compile all levels with per-function target attributes; mastra_cpu.h picks one
 * at run time.
 */
#ifndef MASTRA_SIMD_OPS_H
#define MASTRA_SIMD_OPS_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#include "mastra_cpu.h"

#if defined(MASTRA_X86)
#include <immintrin.h>
#elif defined(MASTRA_ARM64)
#include <arm_neon.h>
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


/* ---- scalar: always compiled ------------------------------------------------------------ */
#define MT_SUFFIX(name) name##_scalar
#define MT_TARGET
#define MT_W 1
typedef float mt_vec_scalar;
#define MT_VEC mt_vec_scalar
#define MT_ZERO() 0.0f
#define MT_LOAD(p) (*(p))
#define MT_LOAD_F16(p) mt_half_to_float(*(p))
#define MT_LOAD_I8(p) ((float)*(p))
#define MT_FMA(a, b, acc) ((acc) + (a) * (b))
#define MT_ADD(a, b) ((a) + (b))
#define MT_SUB(a, b) ((a) - (b))
#define MT_HSUM(v) (v)
#include "mastra_kernels.inc"

/* ---- AVX2 + FMA + F16C -------------------------------------------------------------------- */
#if defined(MASTRA_X86) 
#define MT_SUFFIX(name) name##_avx2
#define MT_TARGET __attribute__((target("avx2,fma,f16c")))
#define MT_W 8
#define MT_VEC __m256
MT_TARGET static inline float mt_hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#define MT_ZERO() _mm256_setzero_ps()
#define MT_LOAD(p) _mm256_loadu_ps(p)
#define MT_LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define MT_LOAD_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define MT_FMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
#define MT_ADD(a, b) _mm256_add_ps(a, b)
#define MT_SUB(a, b) _mm256_sub_ps(a, b)
#define MT_HSUM(v) mt_hsum_avx2(v)
#include "mastra_kernels.inc"
#endif

/* ---- AVX-512 F/BW/DQ/VL ------------------------------------------------------------------- */
#if defined(MASTRA_X86) 
#define MT_SUFFIX(name) name##_avx512
#define MT_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#define MT_W 16
#define MT_VEC __m512
#define MT_ZERO() _mm512_setzero_ps()
#define MT_LOAD(p) _mm512_loadu_ps(p)
#define MT_LOAD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define MT_LOAD_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define MT_FMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
#define MT_ADD(a, b) _mm512_add_ps(a, b)
#define MT_SUB(a, b) _mm512_sub_ps(a, b)
#define MT_HSUM(v) _mm512_reduce_add_ps(v)
#include "mastra_kernels.inc"
#endif

/* ---- NEON (arm64) ------------------------------------------------------------------------- */
#if defined(MASTRA_ARM64) 
#define MT_SUFFIX(name) name##_neon
#define MT_TARGET
#define MT_W 4
#define MT_VEC float32x4_t
static inline float32x4_t mt_load_i8_neon(const int8_t *p) {
    int32_t word;
    memcpy(&word, p, 4);
    int16x8_t wide = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(word)));
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide)));
}
#define MT_ZERO() vdupq_n_f32(0.0f)
#define MT_LOAD(p) vld1q_f32(p)
#define MT_LOAD_F16(p) vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)))
#define MT_LOAD_I8(p) mt_load_i8_neon(p)
#define MT_FMA(a, b, acc) vfmaq_f32(acc, a, b)
#define MT_ADD(a, b) vaddq_f32(a, b)
#define MT_SUB(a, b) vsubq_f32(a, b)
#define MT_HSUM(v) vaddvq_f32(v)
#include "mastra_kernels.inc"
#endif

#endif /* MASTRA_SIMD_OPS_H */
