/* Top-k kernels for arm64 with NEON, which every AArch64 CPU has (see mastra_simd_ops.h). */
#include "mastra_simd_ops.h"

#if defined(MASTRA_ARM64)
#define MT_SUFFIX(name) name##_neon
#define MT_TARGET
#define MT_W 4
#define MT_VEC float32x4_t
#if defined(MASTRA_MSVC)
/* MSVC's NEON vector types are distinct structs without casts between them, and it has no
 * half-precision scalar type: widen through memory. */
static inline float32x4_t mt_load_i8_neon(const int8_t *p) {
    int8_t lanes[8] = {p[0], p[1], p[2], p[3], 0, 0, 0, 0};
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(vld1_s8(lanes)))));
}
static inline float32x4_t mt_load_f16_neon(const uint16_t *p) {
    float lanes[4] = {mt_half_to_float(p[0]), mt_half_to_float(p[1]), mt_half_to_float(p[2]),
                      mt_half_to_float(p[3])};
    return vld1q_f32(lanes);
}
#else
static inline float32x4_t mt_load_i8_neon(const int8_t *p) {
    int32_t word;
    memcpy(&word, p, 4);
    int16x8_t wide = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(word)));
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide)));
}
static inline float32x4_t mt_load_f16_neon(const uint16_t *p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
#endif
#define MT_ZERO() vdupq_n_f32(0.0f)
#define MT_LOAD(p) vld1q_f32(p)
#define MT_LOAD_F16(p) mt_load_f16_neon(p)
#define MT_LOAD_I8(p) mt_load_i8_neon(p)
#define MT_FMA(a, b, acc) vfmaq_f32(acc, a, b)
#define MT_ADD(a, b) vaddq_f32(a, b)
#define MT_SUB(a, b) vsubq_f32(a, b)
#define MT_HSUM(v) vaddvq_f32(v)
#include "mastra_kernels.inc"
#endif
