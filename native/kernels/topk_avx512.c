/* Top-k kernels for x86-64 with AVX-512 F/BW/DQ/VL (see mastra_simd_ops.h). */
#include "mastra_simd_ops.h"

#if defined(MASTRA_X86)
#define MT_SUFFIX(name) name##_avx512
#define MT_TARGET MT_TARGET_AVX512
#define MT_W 16
#define MT_VEC __m512
#define MT_ZERO() _mm512_setzero_ps()
#define MT_LOAD(p) _mm512_loadu_ps(p)
#define MT_LOAD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define MT_FMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
#define MT_ADD(a, b) _mm512_add_ps(a, b)
#define MT_SUB(a, b) _mm512_sub_ps(a, b)
#define MT_HSUM(v) _mm512_reduce_add_ps(v)
#include "mastra_kernels.inc"

/* int8 with vpmaddubsw as at the AVX2 level (see topk_avx2.c); AVX-512 has no vpsignb, so q
 * takes x's sign through a mask of x's negative bytes (x = 0 needs none: |x| is 0). */
#define MT_I8(name) name##_avx512
#define MT_I8_TARGET MT_TARGET_AVX512
#define MT_I8_Q 8
#define MT_I8_ROW_BIAS 0
typedef struct {
    __m512i abs;
    __mmask64 negative;
} mt_i8_pack_avx512;
#define MT_I8_ACC __m512i
#define MT_I8_PACK mt_i8_pack_avx512

MT_TARGET_AVX512 static inline __m512i mt_i8_madd_avx512(__m512i abs_x, __mmask64 negative,
                                                        __m512i q) {
    const __m512i signed_q = _mm512_mask_sub_epi8(q, negative, _mm512_setzero_si512(), q);
    return _mm512_madd_epi16(_mm512_maddubs_epi16(abs_x, signed_q), _mm512_set1_epi16(1));
}
MT_TARGET_AVX512 static inline __m512i mt_i8_splat_avx512(uint32_t v) {
    return _mm512_set1_epi32((int32_t)v);
}
MT_TARGET_AVX512 static inline mt_i8_pack_avx512 mt_i8_prep_avx512(const int8_t *group) {
    const __m512i x = _mm512_loadu_si512(group);
    mt_i8_pack_avx512 pack;
    pack.abs = _mm512_abs_epi8(x);
    pack.negative = _mm512_movepi8_mask(x);
    return pack;
}
MT_TARGET_AVX512 static inline void mt_i8_dp4_avx512(__m512i *acc, mt_i8_pack_avx512 pack,
                                                    const int8_t *q4) {
    const __m512i q = _mm512_set1_epi32(mt_load32(q4));
    *acc = _mm512_add_epi32(*acc, mt_i8_madd_avx512(pack.abs, pack.negative, q));
}
static inline uint32_t mt_i8_query_bias_avx512(const int8_t *q, int64_t d) { return 0; }
MT_TARGET_AVX512 static inline int32_t mt_i8_dot_row_avx512(const int8_t *q, const int8_t *x,
                                                           int64_t d, uint32_t bias) {
    __m512i acc = _mm512_setzero_si512();
    for (int64_t j = 0; j < d; j += 64) {
        const __mmask64 take = d - j >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (d - j)) - 1;
        const __m512i xv = _mm512_maskz_loadu_epi8(take, x + j); /* zero past d */
        const __m512i qv = _mm512_maskz_loadu_epi8(take, q + j);
        acc = _mm512_add_epi32(acc, mt_i8_madd_avx512(_mm512_abs_epi8(xv),
                                                      _mm512_movepi8_mask(xv), qv));
    }
    return (int32_t)((uint32_t)_mm512_reduce_add_epi32(acc) - bias);
}
#include "mastra_int8.inc"
#endif
