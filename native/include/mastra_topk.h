/* Exact top-k search, shared part: the task, bounded heaps, the scoring rules and the table of
 * kernels each SIMD level provides (native/kernels/topk_<level>.c, one translation unit per
 * level so each can get its own compiler flags). mastra_search.h runs a search. */
#ifndef MASTRA_TOPK_H
#define MASTRA_TOPK_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "mastra_cpu.h"

enum { MT_DOT = 0, MT_COSINE = 1, MT_EUCLIDEAN = 2 };
enum { MT_F32 = 0, MT_F16 = 1, MT_I8 = 2 };
enum { MT_BLOCK = 256 }; /* rows per cache block in the batch kernel */
/* int8 batch kernel: rows are repacked 16 at a time (MT_PACK), queries taken up to MT_I8_QMAX
 * at a time. Integer dot products stay exact in int32 up to MT_I8_MAX_D dimensions
 * (|code| <= 128, |query code| <= 127). */
enum { MT_PACK = 16, MT_I8_QMAX = 16, MT_I8_MAX_D = 131072 };

typedef struct {
    float key;   /* ordering: higher is better (negated distance for euclidean) */
    float score; /* what the caller sees */
    int64_t id;
} mt_item;

/* Bounded heap of the best `cap` items seen, worst at the root. */
typedef struct {
    mt_item *items;
    int64_t size, cap;
} mt_heap;

typedef struct mt_task {
    const float *matrix;    /* float32 rows, MT_F32 */
    const void *cmatrix;    /* float16 or int8 rows, MT_F16 / MT_I8 */
    int kind;
    int64_t n, d;
    const float *queries; /* n_queries x d, C order (MT_F32, MT_F16) */
    int64_t n_queries;
    const float *query_sq; /* |q|^2 per query (euclidean) */
    const float *row_sq;   /* exact |x|^2 per row (compressed euclidean) */
    /* MT_I8: queries quantised to codes in [-127, 127] (n_queries x d); a query scores a row
     * as qscale[q] * (integer dot of the codes) + offsets[q]. */
    const int8_t *qcodes;
    const float *qscale, *offsets;
    int metric, normalized;
    const uint8_t *mask; /* NULL or n flags: rows allowed */
    /* NULL, or the rows to scan (n_rows of them, ascending): a selective filter's candidates.
     * Scans then visit only these, one query at a time. */
    const int64_t *rows;
    int64_t n_rows;
} mt_task;

/* The row at position p of a scan: the p-th listed row, or row p itself. */
static inline int64_t mt_row(const mt_task *t, int64_t p) { return t->rows ? t->rows[p] : p; }

/* a is worse than b: lower key, or equal key and higher id (ties go to the lower id). */
static inline int mt_worse(const mt_item *a, const mt_item *b) {
    return a->key < b->key || (a->key == b->key && a->id > b->id);
}

static inline void mt_offer(mt_heap *h, float key, float score, int64_t id) {
    if (key != key) key = -INFINITY; /* NaN ranks last, still ordered by id */
    mt_item it = {key, score, id};
    mt_item *items = h->items;
    if (h->size < h->cap) {
        int64_t i = h->size++;
        while (i > 0) {
            int64_t parent = (i - 1) >> 1;
            if (!mt_worse(&it, &items[parent])) break;
            items[i] = items[parent];
            i = parent;
        }
        items[i] = it;
        return;
    }
    if (!mt_worse(&items[0], &it)) return;
    int64_t i = 0, n = h->size;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && mt_worse(&items[child + 1], &items[child])) child++;
        if (!mt_worse(&items[child], &it)) break;
        items[i] = items[child];
        i = child;
    }
    items[i] = it;
}

/* A similarity of unit vectors, kept inside [-1, 1] against rounding; NaN passes through. */
static inline float mt_unit_clamp(float s) { return s > 1.0f ? 1.0f : (s < -1.0f ? -1.0f : s); }

/* Cosine of a unit query and a row from q.x and x.x. A row whose squared norm underflows
 * (zero or subnormal) is a zero vector: cosine 0, where the division would only amplify
 * rounding. A row holding NaN has dot = NaN, and dot - dot keeps it so (ranked last by
 * mt_offer); for a finite dot it is exactly 0. */
static inline float mt_cosine(float dot, float xx) {
    return xx >= FLT_MIN ? mt_unit_clamp(dot / sqrtf(xx)) : dot - dot;
}

/* 1 / |x| for the batch kernel, which scores each row against many queries: one division per
 * row instead of one per pair. Zero for an underflowing row, NaN for a row holding NaN; then
 * mt_unit_clamp(dot * mt_inv_norm(xx)) follows the rules of mt_cosine. */
static inline float mt_inv_norm(float xx) { return xx >= FLT_MIN ? 1.0f / sqrtf(xx) : xx - xx; }

/* The heap key of a compressed scan's approximate dot product s with row i: s itself, or the
 * negated squared distance 2s - |q|^2 - |x|^2 for euclidean (in this order everywhere). */
static inline float mt_compressed_key(const mt_task *t, float s, float query_sq, int64_t i) {
    return t->metric == MT_EUCLIDEAN ? 2.0f * s - query_sq - t->row_sq[i] : s;
}

/* Offer a compressed scan's key; the score is the key, or the squared distance for euclidean
 * (the caller re-ranks in float32 anyway). */
static inline void mt_offer_key(mt_heap *h, const mt_task *t, float key, int64_t i) {
    if (h->size == h->cap && key < h->items[0].key) return; /* the common case, early */
    mt_offer(h, key, t->metric == MT_EUCLIDEAN ? -key : key, i);
}

typedef void (*mt_scan_fn)(const mt_task *, int64_t, int64_t, mt_heap *);
typedef void (*mt_batch_fn)(const mt_task *, int64_t, int64_t, mt_heap *, void *);
typedef float (*mt_distance_fn)(const float *, const float *, int64_t);
typedef struct {
    mt_scan_fn scan_f32, scan_f16;
    mt_batch_fn batch_f32;
    mt_distance_fn l2sq;
} mt_kernels;

/* The int8 kernels of one variant (a level, with or without its dot-product extension). */
typedef struct {
    mt_scan_fn scan;   /* one query */
    mt_batch_fn batch; /* many queries; scratch of mt_i8_scratch_bytes */
} mt_i8_kernels;

/* Scratch the int8 batch kernel needs: a pack of MT_PACK rows, the queries padded to whole
 * 4-byte groups and to a multiple of MT_I8_QMAX, and one bias per padded query. */
static inline size_t mt_i8_scratch_bytes(int64_t d, int64_t n_queries) {
    const int64_t dp = (d + 3) & ~(int64_t)3;
    const int64_t mq = (n_queries + MT_I8_QMAX - 1) / MT_I8_QMAX * MT_I8_QMAX;
    return (size_t)(dp * MT_PACK + mq * dp + mq * 4);
}

/* One table per level (and int8 variant) compiled for this architecture. */
extern const mt_kernels mt_kernels_scalar;
extern const mt_i8_kernels mt_i8_kernels_scalar;
#if defined(MASTRA_X86)
extern const mt_kernels mt_kernels_avx2, mt_kernels_avx512;
extern const mt_i8_kernels mt_i8_kernels_avx2, mt_i8_kernels_avx512, mt_i8_kernels_avx2vnni,
    mt_i8_kernels_avx512vnni;
#elif defined(MASTRA_ARM64)
extern const mt_kernels mt_kernels_neon;
extern const mt_i8_kernels mt_i8_kernels_neon;
#if !defined(MASTRA_MSVC)
#define MASTRA_NEON_DOTPROD 1 /* MSVC builds run the plain NEON int8 kernels */
extern const mt_i8_kernels mt_i8_kernels_neondot;
#endif
#endif

#endif /* MASTRA_TOPK_H */
