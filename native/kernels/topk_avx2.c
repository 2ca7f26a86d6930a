/* Top-k kernels for x86-64 with AVX2 + FMA + F16C (see mastra_simd_ops.h). */
#include "mastra_simd_ops.h"

#if defined(MASTRA_X86)
#define MT_SUFFIX(name) name##_avx2
#define MT_TARGET MT_TARGET_AVX2
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
#define MT_FMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
#define MT_ADD(a, b) _mm256_add_ps(a, b)
#define MT_SUB(a, b) _mm256_sub_ps(a, b)
#define MT_HSUM(v) mt_hsum_avx2(v)
#include "mastra_kernels.inc"

/* int8 with vpmaddubsw, which multiplies unsigned by signed bytes and adds pairs into int16
 * with saturation: |x| times (q with x's sign) is x * q, and with |x| <= 128, |q| <= 127 a pair
 * stays within 32512, so nothing saturates. vpmaddwd then sums pairs into int32 lanes. */
#define MT_I8(name) name##_avx2
#define MT_I8_TARGET MT_TARGET_AVX2
#define MT_I8_Q 4
#define MT_I8_ROW_BIAS 0
typedef struct {
    __m256i lo, hi; /* rows 0-7, 8-15 */
} mt_i8_acc_avx2;
typedef struct {
    __m256i abs_lo, abs_hi, lo, hi;
} mt_i8_pack_avx2;
#define MT_I8_ACC mt_i8_acc_avx2
#define MT_I8_PACK mt_i8_pack_avx2

MT_TARGET_AVX2 static inline __m256i mt_i8_madd_avx2(__m256i abs_x, __m256i x, __m256i q) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_x, _mm256_sign_epi8(q, x)),
                             _mm256_set1_epi16(1));
}
MT_TARGET_AVX2 static inline mt_i8_acc_avx2 mt_i8_splat_avx2(uint32_t v) {
    mt_i8_acc_avx2 acc;
    acc.lo = acc.hi = _mm256_set1_epi32((int32_t)v);
    return acc;
}
MT_TARGET_AVX2 static inline mt_i8_pack_avx2 mt_i8_prep_avx2(const int8_t *group) {
    mt_i8_pack_avx2 pack;
    pack.lo = _mm256_loadu_si256((const __m256i *)group);
    pack.hi = _mm256_loadu_si256((const __m256i *)(group + 32));
    pack.abs_lo = _mm256_abs_epi8(pack.lo);
    pack.abs_hi = _mm256_abs_epi8(pack.hi);
    return pack;
}
MT_TARGET_AVX2 static inline void mt_i8_dp4_avx2(mt_i8_acc_avx2 *acc, mt_i8_pack_avx2 pack,
                                                const int8_t *q4) {
    const __m256i q = _mm256_set1_epi32(mt_load32(q4));
    acc->lo = _mm256_add_epi32(acc->lo, mt_i8_madd_avx2(pack.abs_lo, pack.lo, q));
    acc->hi = _mm256_add_epi32(acc->hi, mt_i8_madd_avx2(pack.abs_hi, pack.hi, q));
}
MT_TARGET_AVX2 static inline uint32_t mt_i8_keys_avx2(mt_i8_acc_avx2 acc, const mt_i8_scoring *sc,
                                                    const float *row_sq, float *keys) {
    return mt_i8_keys8_avx2(acc.lo, sc, row_sq, keys) |
           mt_i8_keys8_avx2(acc.hi, sc, row_sq + 8, keys + 8) << 8;
}
static inline uint32_t mt_i8_query_bias_avx2(const int8_t *q, int64_t d) { return 0; }
MT_TARGET_AVX2 static inline int32_t mt_i8_dot_row_avx2(const int8_t *q, const int8_t *x,
                                                       int64_t d, uint32_t bias) {
    __m256i acc = _mm256_setzero_si256();
    int64_t j = 0;
    for (; j + 32 <= d; j += 32) {
        const __m256i xv = _mm256_loadu_si256((const __m256i *)(x + j));
        const __m256i qv = _mm256_loadu_si256((const __m256i *)(q + j));
        acc = _mm256_add_epi32(acc, mt_i8_madd_avx2(_mm256_abs_epi8(xv), xv, qv));
    }
    return (int32_t)(mt_hsum_epi32_avx2(acc) + mt_i8_dot_scalar(q, x, j, d) - bias);
}
#include "mastra_int8.inc"
#endif
