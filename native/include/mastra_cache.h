/* Intrusive rings for the LRU/TTL cache (native/_cache.pyx).
 *
 * Each cache entry is a Python object (_Node) that embeds one mc_link. The cache's dict owns
 * the nodes; the rings only point at them (no reference counts), so moving an entry to the
 * most-recent end is four pointer writes. `order` is the recency ring (oldest after the
 * root); `expiry` is the time-to-live ring, oldest deadline after the root.
 */
#ifndef MASTRA_CACHE_H
#define MASTRA_CACHE_H

#include <Python.h>
#include <time.h>
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif

typedef struct mc_link {
    struct mc_link *prev, *next;   /* recency ring */
    struct mc_link *tprev, *tnext; /* expiry ring */
    PyObject *owner;               /* the _Node embedding this link (borrowed) */
    double expires;
    Py_ssize_t size;
} mc_link;

static inline void mc_init(mc_link *root) {
    root->prev = root->next = root;
    root->tprev = root->tnext = root;
    root->owner = NULL;
}

static inline void mc_unlink(mc_link *n) {
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

/* Insert before the root: the most recently used end. */
static inline void mc_append(mc_link *root, mc_link *n) {
    n->prev = root->prev;
    n->next = root;
    root->prev->next = n;
    root->prev = n;
}

static inline void mc_touch(mc_link *root, mc_link *n) {
    if (root->prev == n) return;
    mc_unlink(n);
    mc_append(root, n);
}

static inline void mc_tunlink(mc_link *n) {
    n->tprev->tnext = n->tnext;
    n->tnext->tprev = n->tprev;
}

static inline void mc_tappend(mc_link *root, mc_link *n) {
    n->tprev = root->tprev;
    n->tnext = root;
    root->tprev->tnext = n;
    root->tprev = n;
}

static inline int mc_empty(const mc_link *root) { return root->next == root; }

/* time.monotonic()'s clock (CLOCK_MONOTONIC on Linux) read at kernel-tick resolution: the
 * coarse variant costs ~5 ns where the precise one costs ~25 ns, which would otherwise be most
 * of a cache hit. It lags the precise clock by at most one tick (1-4 ms). */
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
#define MC_FAST_CLOCK 1
static inline double mc_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static inline double mc_monotonic_resolution(void) {
    struct timespec ts;
    clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#else
#define MC_FAST_CLOCK 0
static inline double mc_monotonic(void) { return 0.0; }
static inline double mc_monotonic_resolution(void) { return 0.0; }
#endif

/* Step aside for a moment (the caller has released the GIL): about 20 us, or a yield of the
 * time slice on Windows, whose sleeps are whole milliseconds. */
static inline void mc_pause(void) {
#if defined(_WIN32)
    SwitchToThread();
#else
    struct timespec pause = {0, 20000};
    nanosleep(&pause, NULL);
#endif
}

#endif /* MASTRA_CACHE_H */
