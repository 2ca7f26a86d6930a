/* Top-k kernels in plain C: the level every CPU runs (see mastra_simd_ops.h). */
#include "mastra_simd_ops.h"

#define MT_SUFFIX(name) name##_scalar
#define MT_TARGET
#define MT_W 1
#define MT_VEC float
#define MT_ZERO() 0.0f
#define MT_LOAD(p) (*(p))
#define MT_LOAD_F16(p) mt_half_to_float(*(p))
#define MT_FMA(a, b, acc) ((acc) + (a) * (b))
#define MT_ADD(a, b) ((a) + (b))
#define MT_SUB(a, b) ((a) - (b))
#define MT_HSUM(v) (v)
#include "mastra_kernels.inc"

/* int8 in plain C: 16 lanes as an array. */
#define MT_I8(name) name##_scalar
#define MT_I8_TARGET
#define MT_I8_Q 4
#define MT_I8_ROW_BIAS 0
typedef struct {
    uint32_t lane[MT_PACK];
} mt_i8_acc_scalar;
typedef const int8_t *mt_i8_pack_scalar; /* the pack itself */
#define MT_I8_ACC mt_i8_acc_scalar
#define MT_I8_PACK mt_i8_pack_scalar

static inline mt_i8_acc_scalar mt_i8_splat_scalar(uint32_t v) {
    mt_i8_acc_scalar acc;
    for (int r = 0; r < MT_PACK; r++) acc.lane[r] = v;
    return acc;
}
static inline const int8_t *mt_i8_prep_scalar(const int8_t *group) { return group; }
static inline void mt_i8_dp4_scalar(mt_i8_acc_scalar *acc, const int8_t *group,
                                    const int8_t *q4) {
    for (int r = 0; r < MT_PACK; r++) acc->lane[r] += mt_i8_dot_scalar(q4, group + 4 * r, 0, 4);
}
static inline uint32_t mt_i8_keys_scalar(mt_i8_acc_scalar acc, const mt_i8_scoring *sc,
                                         const float *row_sq, float *keys) {
    int32_t dots[MT_PACK];
    for (int r = 0; r < MT_PACK; r++) dots[r] = (int32_t)acc.lane[r];
    return mt_i8_keys_generic(dots, sc, row_sq, keys);
}
static inline int64_t mt_i8_repack_scalar(int8_t *pack, const int8_t *rows, int64_t count,
                                          int64_t d) {
    return 0; /* all of it in mt_i8_repack_tail */
}
static inline uint32_t mt_i8_query_bias_scalar(const int8_t *q, int64_t d) { return 0; }
static inline int32_t mt_i8_dot_row_scalar(const int8_t *q, const int8_t *x, int64_t d,
                                           uint32_t bias) {
    return (int32_t)(mt_i8_dot_scalar(q, x, 0, d) - bias);
}
#include "mastra_int8.inc"
