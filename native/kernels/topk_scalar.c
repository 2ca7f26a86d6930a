/* Top-k kernels in plain C: the level every CPU runs (see mastra_simd_ops.h). */
#include "mastra_simd_ops.h"

#define MT_SUFFIX(name) name##_scalar
#define MT_TARGET
#define MT_W 1
#define MT_VEC float
#define MT_ZERO() 0.0f
#define MT_LOAD(p) (*(p))
#define MT_LOAD_F16(p) mt_half_to_float(*(p))
#define MT_LOAD_I8(p) ((float)*(p))
#define MT_FMA(a, b, acc) ((acc) + (a) * (b))
#define MT_ADD(a, b) ((a) + (b))
#define MT_SUB(a, b) ((a) - (b))
#define MT_HSUM(v) (v)
#include "mastra_kernels.inc"
