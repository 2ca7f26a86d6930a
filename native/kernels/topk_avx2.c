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
#define MT_LOAD_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define MT_FMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
#define MT_ADD(a, b) _mm256_add_ps(a, b)
#define MT_SUB(a, b) _mm256_sub_ps(a, b)
#define MT_HSUM(v) mt_hsum_avx2(v)
#include "mastra_kernels.inc"
#endif
