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
#define MT_TARGET_AVX2VNNI
#define MT_TARGET_AVX512VNNI
#else
#define MT_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define MT_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#define MT_TARGET_AVX2VNNI __attribute__((target("avxvnni,avx2,fma,f16c")))
#define MT_TARGET_AVX512VNNI \
    __attribute__((target("avx512vnni,avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#endif
#if defined(MASTRA_MSVC)
#define MT_UNROLL4
#define MT_UNROLL16
#else
#define MT_UNROLL4 _Pragma("GCC unroll 4")
#define MT_UNROLL16 _Pragma("GCC unroll 16")
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

/* Integer helpers of the int8 kernels (mastra_int8.inc), in wrapping 32-bit arithmetic: the
 * dot product of codes [from, to) (the tails the vectors leave), and a sum of codes. */
static inline uint32_t mt_i8_dot_scalar(const int8_t *q, const int8_t *x, int64_t from,
                                        int64_t to) {
    uint32_t s = 0;
    for (int64_t j = from; j < to; j++) s += (uint32_t)((int32_t)q[j] * (int32_t)x[j]);
    return s;
}

static inline uint32_t mt_i8_sum(const int8_t *q, int64_t from, int64_t to) {
    uint32_t s = 0;
    for (int64_t j = from; j < to; j++) s += (uint32_t)(int32_t)q[j];
    return s;
}

/* Ask for the cache lines of [p, p + bytes) ahead of use (the batch kernel reads rows in an
 * order the hardware prefetchers follow poorly). */
static inline void mt_prefetch(const int8_t *p, int64_t bytes) {
    for (int64_t i = 0; i < bytes; i += 64) {
#if defined(MASTRA_MSVC) && defined(MASTRA_X86)
        _mm_prefetch((const char *)(p + i), _MM_HINT_T0);
#elif defined(MASTRA_MSVC)
        __prefetch(p + i);
#else
        __builtin_prefetch(p + i);
#endif
    }
}

/* Listed rows are scattered, so a scan over a list asks for the row MT_AHEAD positions on. */
enum { MT_AHEAD = 4 };
static inline void mt_prefetch_listed(const mt_task *t, int64_t p, int64_t end, const void *rows,
                                      int64_t row_bytes) {
    if (t->rows && p + MT_AHEAD < end)
        mt_prefetch((const int8_t *)rows + t->rows[p + MT_AHEAD] * row_bytes, row_bytes);
}

/* Four bytes as one 32-bit word (for broadcasts). */
static inline int32_t mt_load32(const int8_t *p) {
    int32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* The pack layout of the int8 batch kernel: MT_PACK rows, 4-byte group g of row r at byte
 * (g * MT_PACK + r) * 4, so that one 64-byte group holds 4 bytes of each of 16 rows. Rows past
 * `count` and bytes past d are zero, which adds nothing to a dot product. This fills groups
 * [from_group, ceil(d / 4)); the SIMD levels transpose whole blocks first. */
static inline void mt_i8_repack_tail(int8_t *pack, const int8_t *rows, int64_t count, int64_t d,
                                     int64_t from_group) {
    for (int64_t g = from_group; g * 4 < d; g++) {
        const int64_t width = d - 4 * g < 4 ? d - 4 * g : 4;
        for (int64_t r = 0; r < MT_PACK; r++) {
            int8_t *dst = pack + (g * MT_PACK + r) * 4;
            memset(dst, 0, 4);
            if (r < count) memcpy(dst, rows + r * d + 4 * g, (size_t)width);
        }
    }
}

/* How a pack's 16 dot products with one query become heap keys: s = scale * dot + offset, and
 * the key is s, or 2s - |q|^2 - |x|^2 (the negated squared distance) for euclidean. Lanes whose
 * key reaches `bar` (the heap's worst, -inf while it fills) are the candidates. */
typedef struct {
    float scale, offset, query_sq, bar;
    int euclidean;
} mt_i8_scoring;

/* Keys of 16 dot products in plain C; returns the bit mask of candidate lanes. */
static inline uint32_t mt_i8_keys_generic(const int32_t *dots, const mt_i8_scoring *sc,
                                          const float *row_sq, float *keys) {
    uint32_t pass = 0;
    for (int r = 0; r < MT_PACK; r++) {
        const float s = sc->scale * (float)dots[r] + sc->offset;
        keys[r] = sc->euclidean ? 2.0f * s - sc->query_sq - row_sq[r] : s;
        pass |= (uint32_t)(keys[r] >= sc->bar) << r;
    }
    return pass;
}

#if defined(MASTRA_X86)
/* The sum of a vector's eight int32 lanes, wrapping (the AVX2 and AVX-VNNI int8 kernels). */
MT_TARGET_AVX2 static inline uint32_t mt_hsum_epi32_avx2(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return (uint32_t)_mm_cvtsi128_si32(s);
}

/* Keys of 8 dot products (mt_i8_keys_generic); returns the 8-bit mask of candidates. */
MT_TARGET_AVX2 static inline uint32_t mt_i8_keys8_avx2(__m256i dots, const mt_i8_scoring *sc,
                                                     const float *row_sq, float *keys) {
    __m256 s = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(dots), _mm256_set1_ps(sc->scale)),
                             _mm256_set1_ps(sc->offset));
    if (sc->euclidean)
        s = _mm256_sub_ps(_mm256_sub_ps(_mm256_add_ps(s, s), _mm256_set1_ps(sc->query_sq)),
                          _mm256_loadu_ps(row_sq));
    _mm256_storeu_ps(keys, s);
    return (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(s, _mm256_set1_ps(sc->bar), _CMP_GE_OQ));
}

/* Rows 0-7 (h = 0) or 8-15 of a pack, for 32-byte blocks of codes: 8 x 8 transposes of 4-byte
 * groups. Returns the first group left to mt_i8_repack_tail. */
MT_TARGET_AVX2 static inline int64_t mt_i8_repack_avx2(int8_t *pack, const int8_t *rows,
                                                     int64_t count, int64_t d) {
    const int64_t blocks = d / 32;
    for (int h = 0; h < 2; h++) {
        for (int64_t b = 0; b < blocks; b++) {
            __m256i v[8], t[8];
            for (int r = 0; r < 8; r++)
                v[r] = 8 * h + r < count
                           ? _mm256_loadu_si256((const __m256i *)(rows + (8 * h + r) * d + 32 * b))
                           : _mm256_setzero_si256();
            for (int r = 0; r < 8; r += 2) {
                t[r] = _mm256_unpacklo_epi32(v[r], v[r + 1]);
                t[r + 1] = _mm256_unpackhi_epi32(v[r], v[r + 1]);
            }
            for (int q = 0; q < 2; q++) { /* column 4L + j of rows 4q..4q+3, in lane L */
                v[4 * q + 0] = _mm256_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
                v[4 * q + 1] = _mm256_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
                v[4 * q + 2] = _mm256_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
                v[4 * q + 3] = _mm256_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
            }
            int8_t *out = pack + 8 * b * 4 * MT_PACK + 32 * h;
            for (int j = 0; j < 4; j++) {
                _mm256_storeu_si256((__m256i *)(out + j * 4 * MT_PACK),
                                    _mm256_permute2x128_si256(v[j], v[4 + j], 0x20));
                _mm256_storeu_si256((__m256i *)(out + (4 + j) * 4 * MT_PACK),
                                    _mm256_permute2x128_si256(v[j], v[4 + j], 0x31));
            }
        }
    }
    return 8 * blocks;
}

/* Keys of 16 dot products (mt_i8_keys_generic); returns the mask of candidates. */
MT_TARGET_AVX512 static inline uint32_t mt_i8_keys_avx512(__m512i dots, const mt_i8_scoring *sc,
                                                        const float *row_sq, float *keys) {
    __m512 s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), _mm512_set1_ps(sc->scale),
                               _mm512_set1_ps(sc->offset));
    if (sc->euclidean)
        s = _mm512_sub_ps(_mm512_sub_ps(_mm512_add_ps(s, s), _mm512_set1_ps(sc->query_sq)),
                          _mm512_loadu_ps(row_sq));
    _mm512_storeu_ps(keys, s);
    return (uint32_t)_mm512_cmp_ps_mask(s, _mm512_set1_ps(sc->bar), _CMP_GE_OQ);
}

/* A pack from 64-byte blocks of codes (the last one partial): 16 x 16 transposes of 4-byte
 * groups. Returns the first group left to mt_i8_repack_tail. */
MT_TARGET_AVX512 static inline int64_t mt_i8_repack_avx512(int8_t *pack, const int8_t *rows,
                                                         int64_t count, int64_t d) {
    for (int64_t b = 0; b * 64 < d; b++) {
        const int64_t width = d - 64 * b < 64 ? d - 64 * b : 64;
        const __mmask64 take = width == 64 ? ~(__mmask64)0 : ((__mmask64)1 << width) - 1;
        __m512i v[16], t[16];
        for (int r = 0; r < 16; r++)
            v[r] = r < count ? _mm512_maskz_loadu_epi8(take, rows + r * d + 64 * b)
                             : _mm512_setzero_si512();
        for (int r = 0; r < 16; r += 2) {
            t[r] = _mm512_unpacklo_epi32(v[r], v[r + 1]);
            t[r + 1] = _mm512_unpackhi_epi32(v[r], v[r + 1]);
        }
        for (int q = 0; q < 4; q++) { /* column 4L + j of rows 4q..4q+3, in lane L */
            v[4 * q + 0] = _mm512_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
            v[4 * q + 1] = _mm512_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
            v[4 * q + 2] = _mm512_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
            v[4 * q + 3] = _mm512_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
        }
        int8_t *out = pack + 16 * b * 4 * MT_PACK;
        const int64_t groups = (width + 3) / 4;
        for (int j = 0; j < 4; j++) { /* lanes L of v[4q + j] -> group 4L + j */
            const __m512i u0 = _mm512_shuffle_i32x4(v[j], v[4 + j], 0x44);
            const __m512i u1 = _mm512_shuffle_i32x4(v[j], v[4 + j], 0xee);
            const __m512i u2 = _mm512_shuffle_i32x4(v[8 + j], v[12 + j], 0x44);
            const __m512i u3 = _mm512_shuffle_i32x4(v[8 + j], v[12 + j], 0xee);
            const __m512i o[4] = {_mm512_shuffle_i32x4(u0, u2, 0x88),
                                  _mm512_shuffle_i32x4(u0, u2, 0xdd),
                                  _mm512_shuffle_i32x4(u1, u3, 0x88),
                                  _mm512_shuffle_i32x4(u1, u3, 0xdd)};
            for (int L = 0; L < 4; L++)
                if (4 * L + j < groups) _mm512_storeu_si512(out + (4 * L + j) * 4 * MT_PACK, o[L]);
        }
    }
    return (d + 3) / 4;
}
#endif

#endif /* MASTRA_SIMD_OPS_H */
