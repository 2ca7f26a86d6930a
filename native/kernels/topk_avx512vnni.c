/* int8 kernels for x86-64 with AVX-512 VNNI (the avx512 level's int8 variant where the CPU has
 * it; see mastra_int8.inc). vpdpbusd multiplies unsigned by signed bytes and adds groups of four
 * into int32 lanes: the codes enter as code + 128 (their sign bit flipped), and each sum starts
 * at -128 * sum(query), which leaves exactly sum(code * query). */
#include "mastra_simd_ops.h"

#if defined(MASTRA_X86)
#define MT_I8(name) name##_avx512vnni
#define MT_I8_TARGET MT_TARGET_AVX512VNNI
#define MT_I8_Q 8
#define MT_I8_ROW_BIAS 128
#define MT_I8_ACC __m512i
#define MT_I8_PACK __m512i

MT_TARGET_AVX512VNNI static inline __m512i mt_i8_splat_avx512vnni(uint32_t v) {
    return _mm512_set1_epi32((int32_t)v);
}
MT_TARGET_AVX512VNNI static inline __m512i mt_i8_unsigned_avx512vnni(__m512i x) {
    return _mm512_xor_si512(x, _mm512_set1_epi8((char)0x80));
}
MT_TARGET_AVX512VNNI static inline __m512i mt_i8_prep_avx512vnni(const int8_t *group) {
    return mt_i8_unsigned_avx512vnni(_mm512_loadu_si512(group));
}
MT_TARGET_AVX512VNNI static inline void mt_i8_dp4_avx512vnni(__m512i *acc, __m512i group,
                                                            const int8_t *q4) {
    *acc = _mm512_dpbusd_epi32(*acc, group, _mm512_set1_epi32(mt_load32(q4)));
}
#define mt_i8_keys_avx512vnni mt_i8_keys_avx512
#define mt_i8_repack_avx512vnni mt_i8_repack_avx512
static inline uint32_t mt_i8_query_bias_avx512vnni(const int8_t *q, int64_t d) {
    return 128u * mt_i8_sum(q, 0, d);
}
MT_TARGET_AVX512VNNI static inline int32_t mt_i8_dot_row_avx512vnni(const int8_t *q,
                                                                   const int8_t *x, int64_t d,
                                                                   uint32_t bias) {
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    int64_t j = 0;
    for (; j + 128 <= d; j += 128) {
        acc0 = _mm512_dpbusd_epi32(acc0, mt_i8_unsigned_avx512vnni(_mm512_loadu_si512(x + j)),
                                   _mm512_loadu_si512(q + j));
        acc1 = _mm512_dpbusd_epi32(acc1,
                                   mt_i8_unsigned_avx512vnni(_mm512_loadu_si512(x + j + 64)),
                                   _mm512_loadu_si512(q + j + 64));
    }
    for (; j < d; j += 64) { /* past d the query reads zero, so the flipped zeros add nothing */
        const __mmask64 take = d - j >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (d - j)) - 1;
        acc0 = _mm512_dpbusd_epi32(
            acc0, mt_i8_unsigned_avx512vnni(_mm512_maskz_loadu_epi8(take, x + j)),
            _mm512_maskz_loadu_epi8(take, q + j));
    }
    return (int32_t)((uint32_t)_mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1)) - bias);
}
#include "mastra_int8.inc"
#endif
