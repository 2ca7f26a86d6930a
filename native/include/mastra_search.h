/* Exact top-k search: the kernels of one SIMD level (mastra_topk.h) over rows split between
 * threads, whose heaps are merged at the end. Pure C, called from native/_vector.pyx without
 * the GIL. */
#ifndef MASTRA_SEARCH_H
#define MASTRA_SEARCH_H

#include "mastra_thread.h"
#include "mastra_topk.h"

static int mt_better_first(const void *a, const void *b) {
    const mt_item *x = (const mt_item *)a, *y = (const mt_item *)b;
    return mt_worse(y, x) ? -1 : (mt_worse(x, y) ? 1 : 0);
}

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

/* The int8 kernels for a level, with its dot-product extension when `dot` (mastra_int8_dot). */
static const mt_i8_kernels *mt_i8_kernels_for(int level, int dot) {
#if defined(MASTRA_X86)
    if (level >= MASTRA_SIMD_AVX512) return dot ? &mt_i8_kernels_avx512vnni : &mt_i8_kernels_avx512;
    if (level >= MASTRA_SIMD_AVX2) return dot ? &mt_i8_kernels_avx2vnni : &mt_i8_kernels_avx2;
#elif defined(MASTRA_ARM64)
#if defined(MASTRA_NEON_DOTPROD)
    if (level >= MASTRA_SIMD_NEON && dot) return &mt_i8_kernels_neondot;
#endif
    if (level >= MASTRA_SIMD_NEON) return &mt_i8_kernels_neon;
#endif
    (void)level, (void)dot;
    return &mt_i8_kernels_scalar;
}

typedef struct {
    const mt_task *task;
    const mt_kernels *kernels;
    const mt_i8_kernels *i8;
    int64_t start, end;
    mt_heap *heaps; /* one per query */
    void *scratch;  /* mt_scratch_bytes */
} mt_part;

/* Scratch per thread for the batch kernels. */
static size_t mt_scratch_bytes(const mt_task *t) {
    if (t->kind == MT_I8 && t->n_queries > 1) return mt_i8_scratch_bytes(t->d, t->n_queries);
    return sizeof(float) * MT_BLOCK;
}

static void mt_run_part(void *arg) {
    mt_part *p = (mt_part *)arg;
    const mt_task *t = p->task;
    if (t->n_queries > 1 && t->kind != MT_F16 && !t->rows) {
        mt_batch_fn batch = t->kind == MT_F32 ? p->kernels->batch_f32 : p->i8->batch;
        batch(t, p->start, p->end, p->heaps, p->scratch);
        return;
    }
    for (int64_t q = 0; q < t->n_queries; q++) {
        mt_task one = *t;
        one.queries = t->queries ? t->queries + q * t->d : NULL;
        one.query_sq = t->query_sq ? t->query_sq + q : NULL;
        one.qcodes = t->qcodes ? t->qcodes + q * t->d : NULL;
        one.qscale = t->qscale ? t->qscale + q : NULL;
        one.offsets = t->offsets ? t->offsets + q : NULL;
        one.n_queries = 1;
        mt_scan_fn scan = t->kind == MT_F32   ? p->kernels->scan_f32
                          : t->kind == MT_F16 ? p->kernels->scan_f16
                                              : p->i8->scan;
        scan(&one, p->start, p->end, &p->heaps[q]);
    }
}

/* Best k rows per query, best first, into out_ids / out_scores (n_queries x k). Rows (or the
 * listed rows) are split over `threads` threads whose heaps are merged at the end. `level` picks the kernels, and
 * `int8_dot` whether the int8 ones use the level's dot-product extension. Returns 0, or -1
 * when memory for the heaps cannot be had. Slots no row could fill get id -1 (the caller
 * sizes k so they do not occur). */
static int mt_search(const mt_task *t, int64_t k, int threads, int level, int int8_dot,
                     int64_t *out_ids, float *out_scores) {
    const int64_t m = t->n_queries, span = t->rows ? t->n_rows : t->n; /* positions to split */
    if (threads < 1) threads = 1;
    if ((int64_t)threads > span) threads = span > 0 ? (int)span : 1;
    mt_item *items = (mt_item *)malloc(sizeof(mt_item) * (size_t)(threads * m * (k > 0 ? k : 1)));
    mt_heap *heaps = (mt_heap *)malloc(sizeof(mt_heap) * (size_t)(threads * m));
    const size_t scratch_bytes = (mt_scratch_bytes(t) + 63) & ~(size_t)63;
    char *scratch = (char *)malloc(scratch_bytes * (size_t)threads);
    mt_part *parts = (mt_part *)malloc(sizeof(mt_part) * (size_t)threads);
    mastra_thread *workers = (mastra_thread *)malloc(sizeof(mastra_thread) * (size_t)threads);
    char *started = (char *)calloc((size_t)threads, 1);
    if (!items || !heaps || !scratch || !parts || !workers || !started) {
        free(items), free(heaps), free(scratch), free(parts), free(workers), free(started);
        return -1;
    }
    const mt_kernels *kernels = mt_kernels_for(level);
    const mt_i8_kernels *i8 = mt_i8_kernels_for(level, int8_dot);
    for (int p = 0; p < threads; p++) {
        for (int64_t q = 0; q < m; q++) {
            mt_heap *h = &heaps[p * m + q];
            h->items = items + (p * m + q) * k;
            h->size = 0;
            h->cap = k;
        }
        parts[p].task = t;
        parts[p].kernels = kernels;
        parts[p].i8 = i8;
        parts[p].start = span * p / threads;
        parts[p].end = span * (p + 1) / threads;
        parts[p].heaps = &heaps[p * m];
        parts[p].scratch = scratch + (size_t)p * scratch_bytes;
    }
    for (int p = 1; p < threads; p++)
        started[p] = (char)mastra_thread_start(&workers[p], mt_run_part, &parts[p]);
    mt_run_part(&parts[0]);
    for (int p = 1; p < threads; p++) {
        if (started[p])
            mastra_thread_join(&workers[p]);
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
    free(items), free(heaps), free(scratch), free(parts), free(workers), free(started);
    return 0;
}

#endif /* MASTRA_SEARCH_H */
