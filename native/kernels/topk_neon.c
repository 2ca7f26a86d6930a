/* Top-k kernels for arm64 with NEON, which every AArch64 CPU has (see mastra_simd_ops.h). */
#include "mastra_simd_ops.h"

#if defined(MASTRA_ARM64)
#define MT_SUFFIX(name) name##_neon
#define MT_TARGET
#define MT_W 4
#define MT_VEC float32x4_t
#if defined(MASTRA_MSVC)
/* MSVC's NEON vector types are distinct structs without casts between them, and it has no
 * half-precision scalar type: widen and broadcast through memory. */
static inline float32x4_t mt_load_f16_neon(const uint16_t *p) {
    float lanes[4] = {mt_half_to_float(p[0]), mt_half_to_float(p[1]), mt_half_to_float(p[2]),
                      mt_half_to_float(p[3])};
    return vld1q_f32(lanes);
}
static inline int8x16_t mt_splat4_neon(const int8_t *q4) {
    int8_t lanes[16];
    for (int i = 0; i < 16; i += 4) memcpy(lanes + i, q4, 4);
    return vld1q_s8(lanes);
}
#else
static inline float32x4_t mt_load_f16_neon(const uint16_t *p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
static inline int8x16_t mt_splat4_neon(const int8_t *q4) {
    return vreinterpretq_s8_s32(vdupq_n_s32(mt_load32(q4)));
}
#endif
#define MT_ZERO() vdupq_n_f32(0.0f)
#define MT_LOAD(p) vld1q_f32(p)
#define MT_LOAD_F16(p) mt_load_f16_neon(p)
#define MT_FMA(a, b, acc) vfmaq_f32(acc, a, b)
#define MT_ADD(a, b) vaddq_f32(a, b)
#define MT_SUB(a, b) vsubq_f32(a, b)
#define MT_HSUM(v) vaddvq_f32(v)
#include "mastra_kernels.inc"

/* int8 with widening multiplies: two products of |x| <= 128 and |q| <= 127 fit an int16 lane
 * (32512 at most), and vpadal sums lane pairs into int32. A pack group is four vectors of four
 * rows x 4 bytes. */
#define MT_I8(name) name##_neon
#define MT_I8_TARGET
#define MT_I8_Q 4
#define MT_I8_ROW_BIAS 0
typedef struct {
    int32x4_t v[4];
} mt_i8_acc_neon;
typedef struct {
    int8x16_t v[4];
} mt_i8_pack_neon;
#define MT_I8_ACC mt_i8_acc_neon
#define MT_I8_PACK mt_i8_pack_neon

static inline mt_i8_acc_neon mt_i8_splat_neon(uint32_t v) {
    mt_i8_acc_neon acc;
    for (int k = 0; k < 4; k++) acc.v[k] = vdupq_n_s32((int32_t)v);
    return acc;
}
static inline mt_i8_pack_neon mt_i8_prep_neon(const int8_t *group) {
    mt_i8_pack_neon pack;
    for (int k = 0; k < 4; k++) pack.v[k] = vld1q_s8(group + 16 * k);
    return pack;
}
static inline void mt_i8_dp4_neon(mt_i8_acc_neon *acc, mt_i8_pack_neon pack,
                                  const int8_t *q4) {
    const int8x16_t q = mt_splat4_neon(q4);
    for (int k = 0; k < 4; k++) {
        const int16x8_t lo = vmull_s8(vget_low_s8(pack.v[k]), vget_low_s8(q));
        const int16x8_t hi = vmull_high_s8(pack.v[k], q);
        acc->v[k] = vpadalq_s16(acc->v[k], vpaddq_s16(lo, hi));
    }
}
static inline uint32_t mt_i8_keys_neon(mt_i8_acc_neon acc, const mt_i8_scoring *sc,
                                       const float *row_sq, float *keys) {
    int32_t dots[MT_PACK];
    for (int k = 0; k < 4; k++) vst1q_s32(dots + 4 * k, acc.v[k]);
    return mt_i8_keys_generic(dots, sc, row_sq, keys);
}
static inline int64_t mt_i8_repack_neon(int8_t *pack, const int8_t *rows, int64_t count,
                                        int64_t d) {
    return 0; /* all of it in mt_i8_repack_tail */
}
static inline uint32_t mt_i8_query_bias_neon(const int8_t *q, int64_t d) { return 0; }
static inline int32_t mt_i8_dot_row_neon(const int8_t *q, const int8_t *x, int64_t d,
                                         uint32_t bias) {
    int32x4_t acc = vdupq_n_s32(0);
    int64_t j = 0;
    for (; j + 16 <= d; j += 16) {
        const int8x16_t xv = vld1q_s8(x + j), qv = vld1q_s8(q + j);
        const int16x8_t pairs = vmlal_high_s8(vmull_s8(vget_low_s8(xv), vget_low_s8(qv)), xv, qv);
        acc = vpadalq_s16(acc, pairs);
    }
    return (int32_t)((uint32_t)vaddvq_s32(acc) + mt_i8_dot_scalar(q, x, j, d) - bias);
}
#include "mastra_int8.inc"
#endif
