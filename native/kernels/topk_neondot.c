/* int8 kernels for arm64 with the Armv8.2 dot product (SDOT; the neon level's int8 variant where
 * the CPU has it; see mastra_int8.inc). SDOT multiplies signed bytes and adds groups of four into
 * int32 lanes, which is a pack group's lane (one row, 4 bytes) exactly. Not built by MSVC, whose
 * arm64 builds run the plain NEON int8 kernels. */
#include "mastra_simd_ops.h"

#if defined(MASTRA_ARM64) && defined(MASTRA_NEON_DOTPROD)
/* GCC and newer clang declare vdotq_s32 for functions that target the extension; clang before
 * 16 declares it only when the whole file does, but has its builtin. */
#if defined(__clang__)
#define MT_TARGET_DOTPROD __attribute__((target("dotprod")))
#if !defined(__ARM_FEATURE_DOTPROD) && __has_builtin(__builtin_neon_vdotq_v)
#define MT_SDOT(acc, a, b) \
    ((int32x4_t)__builtin_neon_vdotq_v((int8x16_t)(acc), (a), (b), 34)) /* 34: int32x4 */
#endif
#else
#define MT_TARGET_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif
#if !defined(MT_SDOT)
#define MT_SDOT(acc, a, b) vdotq_s32((acc), (a), (b))
#endif

#define MT_I8(name) name##_neondot
#define MT_I8_TARGET MT_TARGET_DOTPROD
#define MT_I8_Q 4
#define MT_I8_ROW_BIAS 0
typedef struct {
    int32x4_t v[4];
} mt_i8_acc_neondot;
typedef struct {
    int8x16_t v[4];
} mt_i8_pack_neondot;
#define MT_I8_ACC mt_i8_acc_neondot
#define MT_I8_PACK mt_i8_pack_neondot

MT_TARGET_DOTPROD static inline mt_i8_acc_neondot mt_i8_splat_neondot(uint32_t v) {
    mt_i8_acc_neondot acc;
    for (int k = 0; k < 4; k++) acc.v[k] = vdupq_n_s32((int32_t)v);
    return acc;
}
MT_TARGET_DOTPROD static inline mt_i8_pack_neondot mt_i8_prep_neondot(const int8_t *group) {
    mt_i8_pack_neondot pack;
    for (int k = 0; k < 4; k++) pack.v[k] = vld1q_s8(group + 16 * k);
    return pack;
}
MT_TARGET_DOTPROD static inline void mt_i8_dp4_neondot(mt_i8_acc_neondot *acc,
                                                      mt_i8_pack_neondot pack,
                                                      const int8_t *q4) {
    const int8x16_t q = vreinterpretq_s8_s32(vdupq_n_s32(mt_load32(q4)));
    for (int k = 0; k < 4; k++) acc->v[k] = MT_SDOT(acc->v[k], pack.v[k], q);
}
MT_TARGET_DOTPROD static inline uint32_t mt_i8_keys_neondot(mt_i8_acc_neondot acc,
                                                           const mt_i8_scoring *sc,
                                                           const float *row_sq, float *keys) {
    int32_t dots[MT_PACK];
    for (int k = 0; k < 4; k++) vst1q_s32(dots + 4 * k, acc.v[k]);
    return mt_i8_keys_generic(dots, sc, row_sq, keys);
}
static inline int64_t mt_i8_repack_neondot(int8_t *pack, const int8_t *rows, int64_t count,
                                           int64_t d) {
    return 0; /* all of it in mt_i8_repack_tail */
}
static inline uint32_t mt_i8_query_bias_neondot(const int8_t *q, int64_t d) { return 0; }
MT_TARGET_DOTPROD static inline int32_t mt_i8_dot_row_neondot(const int8_t *q, const int8_t *x,
                                                             int64_t d, uint32_t bias) {
    int32x4_t acc0 = vdupq_n_s32(0), acc1 = vdupq_n_s32(0);
    int64_t j = 0;
    for (; j + 32 <= d; j += 32) {
        acc0 = MT_SDOT(acc0, vld1q_s8(x + j), vld1q_s8(q + j));
        acc1 = MT_SDOT(acc1, vld1q_s8(x + j + 16), vld1q_s8(q + j + 16));
    }
    for (; j + 16 <= d; j += 16) acc0 = MT_SDOT(acc0, vld1q_s8(x + j), vld1q_s8(q + j));
    const uint32_t vector_part = (uint32_t)vaddvq_s32(vaddq_s32(acc0, acc1));
    return (int32_t)(vector_part + mt_i8_dot_scalar(q, x, j, d) - bias);
}
#include "mastra_int8.inc"
#endif
