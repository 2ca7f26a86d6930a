/* Exact top-k search: bounded heaps, SIMD scans (mastra_kernels.inc per level), row-split
 * threads with merged heaps. Pure C, called from native/_vector.pyx without the GIL. */
#ifndef MASTRA_TOPK_H
#define MASTRA_TOPK_H

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

enum { MT_DOT = 0, MT_COSINE = 1, MT_EUCLIDEAN = 2 };
enum { MT_F32 = 0, MT_F16 = 1, MT_I8 = 2 };
enum { MT_BLOCK = 256 }; /* rows per cache block in the batch kernel */

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
    const float *queries; /* n_queries x d, C order */
    int64_t n_queries;
    const float *query_sq; /* |q|^2 per query (euclidean) */
    const float *row_sq;   /* exact |x|^2 per row (compressed euclidean) */
    float offset;          /* added to compressed dot products (int8 de-quantisation) */
    int metric, normalized;
    const uint8_t *mask; /* NULL or n flags: rows allowed */
} mt_task;

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

static int mt_better_first(const void *a, const void *b) {
    const mt_item *x = (const mt_item *)a, *y = (const mt_item *)b;
    return mt_worse(y, x) ? -1 : (mt_worse(x, y) ? 1 : 0);
}

typedef void (*mt_scan_fn)(const mt_task *, int64_t, int64_t, mt_heap *);
typedef void (*mt_batch_fn)(const mt_task *, int64_t, int64_t, mt_heap *, float *);
typedef float (*mt_distance_fn)(const float *, const float *, int64_t);
typedef struct {
    mt_scan_fn scan_f32, scan_compressed;
    mt_batch_fn batch_f32;
    mt_distance_fn l2sq;
} mt_kernels;

#include "mastra_simd_ops.h"

/* The kernel table for a level (mastra_cpu.h numbering); levels not compiled fall back. */
static const mt_kernels *mt_kernels_for(int level) {
#if defined(MASTRA_X86)
    if (level >= MASTRA_SIMD_AVX512) return &mt_kernels_avx512;
    if (level >= MASTRA_SIMD_AVX2) return &mt_kernels_avx2;
#elif defined(MASTRA_ARM64)
    if (level >= MASTRA_SIMD_NEON) return &mt_kernels_neon;
#endif
    (void)level;
    return &mt_kernels_scalar;
}

typedef struct {
    const mt_task *task;
    const mt_kernels *kernels;
    int64_t start, end;
    mt_heap *heaps; /* one per query */
    float *scratch; /* MT_BLOCK floats */
} mt_part;

static void *mt_run_part(void *arg) {
    mt_part *p = (mt_part *)arg;
    const mt_task *t = p->task;
    if (t->kind == MT_F32 && t->n_queries > 1) {
        p->kernels->batch_f32(t, p->start, p->end, p->heaps, p->scratch);
        return NULL;
    }
    for (int64_t q = 0; q < t->n_queries; q++) {
        mt_task one = *t;
        one.queries = t->queries + q * t->d;
        one.query_sq = t->query_sq ? t->query_sq + q : NULL;
        one.n_queries = 1;
        if (t->kind == MT_F32)
            p->kernels->scan_f32(&one, p->start, p->end, &p->heaps[q]);
        else
            p->kernels->scan_compressed(&one, p->start, p->end, &p->heaps[q]);
    }
    return NULL;
}

/* Best k rows per query, best first, into out_ids / out_scores (n_queries x k). Rows are split
 * over `threads` threads whose heaps are merged at the end. Returns 0, or -1 when memory for
 * the heaps cannot be had. Slots no row could fill get id -1 (the caller sizes k so they
 * do not occur). */
static int mt_search(const mt_task *t, int64_t k, int threads, int level, int64_t *out_ids,
                     float *out_scores) {
    const int64_t m = t->n_queries;
    if (threads < 1) threads = 1;
    if ((int64_t)threads > t->n) threads = t->n > 0 ? (int)t->n : 1;
    mt_item *items = (mt_item *)malloc(sizeof(mt_item) * (size_t)(threads * m * (k > 0 ? k : 1)));
    mt_heap *heaps = (mt_heap *)malloc(sizeof(mt_heap) * (size_t)(threads * m));
    float *scratch = (float *)malloc(sizeof(float) * (size_t)(threads * MT_BLOCK));
    mt_part *parts = (mt_part *)malloc(sizeof(mt_part) * (size_t)threads);
    pthread_t *tids = (pthread_t *)malloc(sizeof(pthread_t) * (size_t)threads);
    char *started = (char *)calloc((size_t)threads, 1);
    if (!items || !heaps || !scratch || !parts || !tids || !started) {
        free(items), free(heaps), free(scratch), free(parts), free(tids), free(started);
        return -1;
    }
    const mt_kernels *kernels = mt_kernels_for(level);
    for (int p = 0; p < threads; p++) {
        for (int64_t q = 0; q < m; q++) {
            mt_heap *h = &heaps[p * m + q];
            h->items = items + (p * m + q) * k;
            h->size = 0;
            h->cap = k;
        }
        parts[p].task = t;
        parts[p].kernels = kernels;
        parts[p].start = t->n * p / threads;
        parts[p].end = t->n * (p + 1) / threads;
        parts[p].heaps = &heaps[p * m];
        parts[p].scratch = scratch + p * MT_BLOCK;
    }
    for (int p = 1; p < threads; p++)
        started[p] = pthread_create(&tids[p], NULL, mt_run_part, &parts[p]) == 0;
    mt_run_part(&parts[0]);
    for (int p = 1; p < threads; p++) {
        if (started[p])
            pthread_join(tids[p], NULL);
        else
            mt_run_part(&parts[p]); /* no thread to be had: do its share here */
    }
    for (int64_t q = 0; q < m; q++) {
        mt_heap *best = &heaps[q];
        for (int p = 1; p < threads; p++) {
            const mt_heap *other = &heaps[p * m + q];
            for (int64_t i = 0; i < other->size; i++)
                mt_offer(best, other->items[i].key, other->items[i].score, other->items[i].id);
        }
        if (t->kind == MT_F32 && t->metric == MT_EUCLIDEAN && m > 1) {
            /* The batch kernel ranks by |q|^2 - 2 q.x + |x|^2, which cancels badly for close
             * points; give the winners their exact distance (and order) as one query would. */
            const float *query = t->queries + q * t->d;
            for (int64_t i = 0; i < best->size; i++) {
                mt_item *it = &best->items[i];
                float s2 = kernels->l2sq(query, t->matrix + it->id * t->d, t->d);
                it->key = s2 != s2 ? -INFINITY : -s2;
                it->score = sqrtf(s2);
            }
        }
        qsort(best->items, (size_t)best->size, sizeof(mt_item), mt_better_first);
        for (int64_t i = 0; i < k; i++) {
            out_ids[q * k + i] = i < best->size ? best->items[i].id : -1;
            out_scores[q * k + i] = i < best->size ? best->items[i].score : NAN;
        }
    }
    free(items), free(heaps), free(scratch), free(parts), free(tids), free(started);
    return 0;
}

#endif /* MASTRA_TOPK_H */
