/* Every SIMD level this CPU runs against the scalar build: for every metric, one query and a
 * batch (over two threads). float32: same ids, scores within 1e-3. int8 (every variant, with
 * and without the level's dot-product extension): the same ids and scores exactly, since the
 * dot products are integers; the codes include the extremes -128 and 127, and the dimensions
 * (37, 64, 131) leave every kind of vector tail. Built and run by tools/check_portable.sh with
 * each compiler it checks (arm64 under qemu, Windows under Wine). Prints the best level and
 * int8 variant; exit status 0 when everything matches. */
#include "mastra_search.h"
#include <stdio.h>
#include <stdlib.h>

enum { N = 1003, DMAX = 131, K = 7, M = 3 };

static unsigned seed = 1;
static int next_random(int span) { /* 0 .. span-1 */
    seed = seed * 1103515245u + 12345u;
    return (int)((seed >> 8) % (unsigned)span);
}

/* How many results of `level` (int8: variant `dot`) differ from the scalar ones (float32
 * scores by more than tol). */
static int compare(const mt_task *t, int threads, int level, int dot, float tol) {
    int64_t ia[M * K], ib[M * K];
    float sa[M * K], sb[M * K];
    if (mt_search(t, K, threads, MASTRA_SIMD_SCALAR, 0, ia, sa) ||
        mt_search(t, K, threads, level, dot, ib, sb))
        return 1;
    int bad = 0;
    for (int i = 0; i < t->n_queries * K; i++) {
        float gap = sa[i] - sb[i];
        if (ia[i] != ib[i] || gap > tol || -gap > tol) bad++;
    }
    return bad;
}

/* Every metric, level and variant on random data of dimension d. */
static int check_dimension(int d) {
    static float X[N * DMAX], Q[M * DMAX], row_sq[N], query_sq[M], ones[M], zeros[M];
    static int8_t codes[N * DMAX], qcodes[M * DMAX];
    for (int i = 0; i < N * d; i++) {
        X[i] = (next_random(2000) - 1000) / 500.0f;
        codes[i] = (int8_t)(next_random(256) - 128);
    }
    for (int i = 0; i < 40; i++) codes[next_random(N) * d + next_random(d)] = (int8_t)-128;
    for (int j = 0; j < d; j++) codes[5 * d + j] = (int8_t)-128, codes[6 * d + j] = 127;
    for (int i = 0; i < M * d; i++) {
        Q[i] = (next_random(2000) - 1000) / 500.0f;
        qcodes[i] = (int8_t)(next_random(255) - 127);
    }
    for (int j = 0; j < d; j++) qcodes[j] = j % 2 ? 127 : -127;
    for (int q = 0; q < M; q++) {
        query_sq[q] = 0, ones[q] = 1, zeros[q] = 0;
        for (int j = 0; j < d; j++) query_sq[q] += Q[q * d + j] * Q[q * d + j];
    }
    for (int i = 0; i < N; i++) row_sq[i] = (float)(i % 97);
    const int best = mastra_simd_detected();
    int bad = 0;
    for (int metric = 0; metric < 3; metric++) {
        mt_task t = {0};
        t.matrix = X, t.kind = MT_F32, t.n = N, t.d = d, t.queries = Q, t.metric = metric;
        t.query_sq = query_sq;
        t.n_queries = M, bad += compare(&t, 2, best, 0, 1e-3f);
        t.n_queries = 1, bad += compare(&t, 1, best, 0, 1e-3f);
        mt_task c = {0};
        c.cmatrix = codes, c.kind = MT_I8, c.n = N, c.d = d, c.qcodes = qcodes, c.qscale = ones;
        c.offsets = zeros, c.metric = metric, c.query_sq = query_sq, c.row_sq = row_sq;
        for (int level = 0; level <= best; level++) {
            for (int dot = 0; dot <= mastra_int8_dot(level); dot++) {
                c.n_queries = M, bad += compare(&c, 2, level, dot, 0.0f);
                c.n_queries = 1, bad += compare(&c, 1, level, dot, 0.0f);
            }
        }
    }
    return bad;
}

int main(void) {
    const int best = mastra_simd_detected();
    const int bad = check_dimension(37) + check_dimension(64) + check_dimension(DMAX);
    printf("level=%s int8=%s mismatches=%d\n", mastra_simd_name(best),
           mastra_int8_name(best, mastra_int8_dot(best)), bad);
    return bad != 0;
}
