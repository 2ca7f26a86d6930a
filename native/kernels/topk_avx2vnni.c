/* int8 kernels for x86-64 with AVX-VNNI (the avx2 level's int8 variant where the CPU has it;
 * see mastra_int8.inc and topk_avx512vnni.c for the sign flip). */
#include "mastra_simd_ops.h"

#if defined(MASTRA_X86)
#define MT_I8(name) name##_avx2vnni
#define MT_I8_TARGET MT_TARGET_AVX2VNNI
#define MT_I8_Q 4
#define MT_I8_ROW_BIAS 128
typedef struct {
    __m256i lo, hi; /* rows 0-7, 8-15 */
} mt_i8_acc_avx2vnni;
#define MT_I8_ACC mt_i8_acc_avx2vnni
#define MT_I8_PACK mt_i8_acc_avx2vnni

MT_TARGET_AVX2VNNI static inline __m256i mt_i8_unsigned_avx2vnni(const int8_t *p) {
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)p),
                            _mm256_set1_epi8((char)0x80));
}
MT_TARGET_AVX2VNNI static inline mt_i8_acc_avx2vnni mt_i8_splat_avx2vnni(uint32_t v) {
    mt_i8_acc_avx2vnni acc;
    acc.lo = acc.hi = _mm256_set1_epi32((int32_t)v);
    return acc;
}
MT_TARGET_AVX2VNNI static inline mt_i8_acc_avx2vnni mt_i8_prep_avx2vnni(const int8_t *group) {
    mt_i8_acc_avx2vnni pack;
    pack.lo = mt_i8_unsigned_avx2vnni(group);
    pack.hi = mt_i8_unsigned_avx2vnni(group + 32);
    return pack;
}
MT_TARGET_AVX2VNNI static inline void mt_i8_dp4_avx2vnni(mt_i8_acc_avx2vnni *acc,
                                                        mt_i8_acc_avx2vnni pack,
                                                        const int8_t *q4) {
    const __m256i q = _mm256_set1_epi32(mt_load32(q4));
    acc->lo = _mm256_dpbusd_avx_epi32(acc->lo, pack.lo, q);
    acc->hi = _mm256_dpbusd_avx_epi32(acc->hi, pack.hi, q);
}
MT_TARGET_AVX2VNNI static inline uint32_t mt_i8_keys_avx2vnni(mt_i8_acc_avx2vnni acc,
                                                            const mt_i8_scoring *sc,
                                                            const float *row_sq, float *keys) {
    return mt_i8_keys8_avx2(acc.lo, sc, row_sq, keys) |
           mt_i8_keys8_avx2(acc.hi, sc, row_sq + 8, keys + 8) << 8;
}
#define mt_i8_repack_avx2vnni mt_i8_repack_avx2
/* The flipped codes cover whole 32-byte blocks; the tail is multiplied as signed bytes. */
static inline uint32_t mt_i8_query_bias_avx2vnni(const int8_t *q, int64_t d) {
    return 128u * mt_i8_sum(q, 0, d - d % 32);
}
MT_TARGET_AVX2VNNI static inline int32_t mt_i8_dot_row_avx2vnni(const int8_t *q, const int8_t *x,
                                                               int64_t d, uint32_t bias) {
    __m256i acc = _mm256_setzero_si256();
    int64_t j = 0;
    for (; j + 32 <= d; j += 32)
        acc = _mm256_dpbusd_avx_epi32(acc, mt_i8_unsigned_avx2vnni(x + j),
                                      _mm256_loadu_si256((const __m256i *)(q + j)));
    return (int32_t)(mt_hsum_epi32_avx2(acc) + mt_i8_dot_scalar(q, x, j, d) - bias);
}
#include "mastra_int8.inc"
#endif
