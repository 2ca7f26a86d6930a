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
#define MT_LOAD_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define MT_FMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
#define MT_ADD(a, b) _mm512_add_ps(a, b)
#define MT_SUB(a, b) _mm512_sub_ps(a, b)
#define MT_HSUM(v) _mm512_reduce_add_ps(v)
#include "mastra_kernels.inc"
#endif
