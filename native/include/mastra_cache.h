/* Node storage and rings for the LRU/TTL cache (native/_cache.pyx).
 *
 * The cache's dict maps each key to a node, and a node must be a Python object to be a dict
 * value. Nodes are not allocated one by one, though: they live in a slab of blocks that never
 * move, each node a minimal object (header, key, value, two 32-bit ring links, and for timed
 * caches two more links and a deadline: 40 or 56 bytes, no GC header, no allocator rounding).
 * The slab holds one reference to every node for its whole life, so the dict's references
 * never free one; a node whose key is NULL is free.
 *
 * Links are node indices, not pointers. Index 0 is the root of both rings: `next` from the root
 * is the least recently used node, `tnext` the one with the earliest deadline. The first block
 * holds indices [0, nfirst): every node the cache can need when it knows that number (no
 * getsizeof, maxsize up to ~8 MB of nodes), so an index becomes an address with a multiply and
 * an add. Past it, chunk k holds the far indices f = i - nfirst in [8 (2^k - 1), 8 (2^(k+1) - 1)),
 * found with one bit scan. Blocks are zeroed memory whose nodes get their header when first
 * handed out, so the pages of a large first block are only touched as the cache fills.
 */
#ifndef MASTRA_CACHE_H
#define MASTRA_CACHE_H

#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <intrin.h>
#endif

#if defined(__GNUC__)
#define MC_LIKELY(x) __builtin_expect(!!(x), 1)
#define MC_NOINLINE __attribute__((noinline))
#else
#define MC_LIKELY(x) (x)
#define MC_NOINLINE
#endif

typedef struct {
    PyObject_HEAD
    PyObject *key; /* NULL while the node is free */
    PyObject *value;
    uint32_t prev, next;   /* recency ring; `next` chains the free list */
    uint32_t tprev, tnext; /* expiry ring: timed caches only */
    double expires;        /* timed caches only */
} mc_node;

#define MC_FAR_SHIFT 3 /* far chunk 0 holds 8 nodes, far chunk k holds 8 << k */
#define MC_CHUNKS 29   /* so every index fits in 32 bits */
#define MC_FIRST_MOST_BYTES ((uint64_t)8 << 20)
#define MC_UNTIMED_STRIDE offsetof(mc_node, tprev)
#define MC_TIMED_STRIDE sizeof(mc_node)

typedef struct {
    char *first;             /* nodes [0, nfirst) */
    Py_ssize_t *first_sizes; /* their sizes, caches with getsizeof only */
    uint32_t nfirst;
    /* Far chunks, by the bit length m of (f + 8): node f is at base[m] + (f + 8) * stride. */
    uintptr_t base[MC_CHUNKS + MC_FAR_SHIFT];
    char *chunk[MC_CHUNKS];
    Py_ssize_t *sizes[MC_CHUNKS];
    int nchunks;
    size_t stride;
    uint32_t top;   /* the next index never handed out */
    uint32_t end;   /* one past the last node of the blocks allocated */
    uint32_t free;  /* free list head (0: empty; the root is never free) */
    uint32_t limbo; /* removed nodes whose key and value are still to be released */
    uint64_t want;  /* most nodes the cache can need (root included), 0 when unknown */
    int sized;
    PyObject **dead; /* keys and values of limbo nodes taken for reuse, still to be released */
    size_t ndead, dead_room;
} mc_slab;

/* The type of the nodes: never instantiated by Python, never deallocated (the slab keeps a
 * reference to each node for as long as its block lives). */
static PyTypeObject mc_node_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mastra._native._cache._Node",
    .tp_basicsize = sizeof(mc_node),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An entry of a mastra cache (internal).",
};

static inline int mc_msb64(uint64_t v) {
#if defined(_MSC_VER)
    unsigned long index;
    _BitScanReverse64(&index, v);
    return (int)index;
#else
    return 63 ^ __builtin_clzll(v);
#endif
}

/* The first far index of far chunk k, and how many nodes it holds: 8 << k, or fewer in the
 * chunk that reaches `want`. */
static inline uint64_t mc_chunk_start(int k) { return (((uint64_t)1 << k) - 1) << MC_FAR_SHIFT; }

static inline uint64_t mc_chunk_length(const mc_slab *s, int k) {
    uint64_t start = s->nfirst + mc_chunk_start(k), length = (uint64_t)1 << (k + MC_FAR_SHIFT);
    return (s->want > start && s->want - start < length) ? s->want - start : length;
}

static MC_NOINLINE mc_node *mc_at_far(const mc_slab *s, uint32_t i) {
    uint64_t v = (uint64_t)(i - s->nfirst) + ((uint64_t)1 << MC_FAR_SHIFT);
    return (mc_node *)(s->base[mc_msb64(v)] + (uintptr_t)v * s->stride);
}

static inline mc_node *mc_at(const mc_slab *s, uint32_t i) {
    if (MC_LIKELY(i < s->nfirst)) return (mc_node *)(s->first + (size_t)i * s->stride);
    return mc_at_far(s, i);
}

static inline mc_node *mc_root(const mc_slab *s) { return (mc_node *)s->first; }

static inline Py_ssize_t *mc_size_slot(const mc_slab *s, uint32_t i) {
    uint64_t v;
    int k;
    if (i < s->nfirst) return s->first_sizes + i;
    v = (uint64_t)(i - s->nfirst) + ((uint64_t)1 << MC_FAR_SHIFT);
    k = mc_msb64(v) - MC_FAR_SHIFT;
    return s->sizes[k] + (v - ((uint64_t)1 << (k + MC_FAR_SHIFT)));
}

static inline Py_ssize_t mc_size(const mc_slab *s, uint32_t i) {
    return s->sized ? *mc_size_slot(s, i) : 1;
}

/* A node's own index: the `next` of the node before it. */
static inline uint32_t mc_index(const mc_slab *s, const mc_node *n) {
    return mc_at(s, n->prev)->next;
}

static inline int mc_empty(const mc_slab *s) { return mc_root(s)->next == 0; }

/* -- the recency ring -------------------------------------------------------------------- */

static inline void mc_unlink(const mc_slab *s, mc_node *n) {
    mc_at(s, n->prev)->next = n->next;
    mc_at(s, n->next)->prev = n->prev;
}

/* Link node i before the root: the most recently used end. */
static inline void mc_append(const mc_slab *s, uint32_t i, mc_node *n) {
    mc_node *root = mc_root(s);
    n->prev = root->prev;
    n->next = 0;
    mc_at(s, root->prev)->next = i;
    root->prev = i;
}

static inline void mc_touch(const mc_slab *s, mc_node *n) {
    uint32_t i;
    if (n->next == 0) return; /* already the most recent */
    i = mc_index(s, n);
    mc_unlink(s, n);
    mc_append(s, i, n);
}

/* The hit path's mc_touch, for a stride known at compile time. A node's own index comes from
 * its address when it is in the first block, not from its neighbour: that keeps the ring's
 * previous writes (which the neighbour's links are) out of the chain of dependent loads from
 * one hit to the next. */
#if defined(__GNUC__)
#define MC_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MC_ALWAYS_INLINE __forceinline
#endif

static MC_ALWAYS_INLINE mc_node *mc_at_k(const mc_slab *s, uint32_t i, size_t stride) {
    if (MC_LIKELY(i < s->nfirst)) return (mc_node *)(s->first + (size_t)i * stride);
    return mc_at_far(s, i);
}

static MC_ALWAYS_INLINE void mc_touch_k(const mc_slab *s, mc_node *n, size_t stride) {
    uintptr_t offset = (uintptr_t)((char *)n - s->first);
    mc_node *root = mc_root(s);
    uint32_t i;
    if (n->next == 0) return; /* already the most recent */
    i = MC_LIKELY(offset < (uintptr_t)s->nfirst * stride) ? (uint32_t)(offset / stride)
                                                          : mc_index(s, n);
    mc_at_k(s, n->prev, stride)->next = n->next;
    mc_at_k(s, n->next, stride)->prev = n->prev;
    n->prev = root->prev;
    n->next = 0;
    mc_at_k(s, root->prev, stride)->next = i;
    root->prev = i;
}

/* -- the expiry ring --------------------------------------------------------------------- */

static inline void mc_tunlink(const mc_slab *s, mc_node *n) {
    mc_at(s, n->tprev)->tnext = n->tnext;
    mc_at(s, n->tnext)->tprev = n->tprev;
}

static inline void mc_tappend(const mc_slab *s, uint32_t i, mc_node *n) {
    mc_node *root = mc_root(s);
    n->tprev = root->tprev;
    n->tnext = 0;
    mc_at(s, root->tprev)->tnext = i;
    root->tprev = i;
}

/* -- blocks ------------------------------------------------------------------------------ */

/* Zeroed memory for `count` nodes (and their sizes when the cache has getsizeof). */
static int mc_alloc_block(const mc_slab *s, uint64_t count, char **nodes, Py_ssize_t **sizes) {
    *nodes = (char *)PyMem_Calloc((size_t)count, s->stride);
    *sizes = NULL;
    if (*nodes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (s->sized) {
        *sizes = (Py_ssize_t *)PyMem_Calloc((size_t)count, sizeof(Py_ssize_t));
        if (*sizes == NULL) {
            PyMem_Free(*nodes);
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static int mc_add_chunk(mc_slab *s) {
    int k = s->nchunks;
    uint64_t start, length;
    char *memory;
    if (k == MC_CHUNKS) {
        PyErr_SetString(PyExc_MemoryError, "cache holds the most entries it can (2**32)");
        return -1;
    }
    start = mc_chunk_start(k);
    length = mc_chunk_length(s, k);
    if (mc_alloc_block(s, length, &memory, &s->sizes[k]) < 0) return -1;
    s->chunk[k] = memory;
    s->base[k + MC_FAR_SHIFT] =
        (uintptr_t)memory - (uintptr_t)(start + ((uint64_t)1 << MC_FAR_SHIFT)) * s->stride;
    s->nchunks = k + 1;
    s->top = (uint32_t)(s->nfirst + start);
    s->end = (uint32_t)(s->nfirst + start + length);
    return 0;
}

/* An empty slab (the root alone) of nodes for a timed cache or not, with sizes or not.
 * `want`: the most items the cache can hold (0: no limit known). */
static int mc_slab_init(mc_slab *s, int timed, int sized, uint64_t want) {
    mc_node *root;
    uint64_t nfirst;
    memset(s, 0, sizeof(*s));
    s->stride = timed ? MC_TIMED_STRIDE : MC_UNTIMED_STRIDE;
    s->sized = sized;
    s->want = want ? want + 1 : 0;
    nfirst = s->want ? s->want : (uint64_t)1 << MC_FAR_SHIFT;
    if (nfirst * s->stride > MC_FIRST_MOST_BYTES) nfirst = MC_FIRST_MOST_BYTES / s->stride;
    if (mc_alloc_block(s, nfirst, &s->first, &s->first_sizes) < 0) return -1;
    s->nfirst = (uint32_t)nfirst;
    s->end = (uint32_t)nfirst;
    root = mc_root(s);
    Py_SET_TYPE((PyObject *)root, &mc_node_type);
    Py_SET_REFCNT((PyObject *)root, 1);
    s->top = 1;
    return 0;
}

static inline void mc_slab_zero(mc_slab *s) { memset(s, 0, sizeof(*s)); }

/* Block b (0: the first block, k + 1: far chunk k) and how many of its nodes were handed out. */
static inline char *mc_block(const mc_slab *s, int b, uint64_t *used) {
    uint64_t start, length;
    if (b == 0) {
        *used = s->top < s->nfirst ? s->top : s->nfirst;
        return s->first;
    }
    start = s->nfirst + mc_chunk_start(b - 1);
    length = mc_chunk_length(s, b - 1);
    *used = s->top <= start ? 0 : (s->top - start < length ? s->top - start : length);
    return s->chunk[b - 1];
}

/* Free the blocks of a slab whose nodes have all been released (keys NULL). A block with a node
 * someone else still references (gc.get_referents on the cache's dict can hand one out) is
 * left allocated rather than freed under that reference. */
static void mc_slab_free(mc_slab *s) {
    int b;
    for (b = 0; s->first != NULL && b <= s->nchunks; b++) {
        uint64_t used, i;
        char *block = mc_block(s, b, &used);
        int referenced = 0;
        for (i = 0; i < used; i++) {
            if (Py_REFCNT((PyObject *)(block + i * s->stride)) != 1) referenced = 1;
        }
        if (!referenced) PyMem_Free(block);
        PyMem_Free(b == 0 ? s->first_sizes : s->sizes[b - 1]);
    }
    PyMem_Free(s->dead);
    mc_slab_zero(s);
}

/* Room in the dead list for `more` references (0), or -1 when memory runs out. */
static int mc_dead_room(mc_slab *s, size_t more) {
    if (s->ndead + more > s->dead_room) {
        size_t room = s->dead_room ? 2 * s->dead_room : 8;
        PyObject **grown = (PyObject **)PyMem_Realloc(s->dead, room * sizeof(PyObject *));
        if (grown == NULL) return -1;
        s->dead = grown;
        s->dead_room = room;
    }
    return 0;
}

/* A free node's index (0 with MemoryError set when none can be made). With no free node, a
 * node waiting in limbo is taken (its key and value move to the dead list) before a new chunk
 * is made: a full cache that evicts to insert needs no more nodes than items. */
static inline uint32_t mc_take(mc_slab *s) {
    uint32_t i = s->free;
    if (i != 0) {
        s->free = mc_at(s, i)->next;
        return i;
    }
    i = s->limbo;
    if (i != 0 && mc_dead_room(s, 2) == 0) {
        mc_node *n = mc_at(s, i);
        s->limbo = n->next;
        s->dead[s->ndead++] = n->key;
        s->dead[s->ndead++] = n->value;
        n->key = n->value = NULL;
        return i;
    }
    if (s->top == s->end && mc_add_chunk(s) < 0) return 0;
    i = s->top++;
    Py_SET_TYPE((PyObject *)mc_at(s, i), &mc_node_type); /* its header, on first use */
    Py_SET_REFCNT((PyObject *)mc_at(s, i), 1);           /* the slab's reference */
    return i;
}

/* -- entries ----------------------------------------------------------------------------- */

/* Fill free node i with key and value (new references) and link it in as the most recent. The
 * caller links it into the expiry ring (timed caches) and adds it to the dict. */
static inline mc_node *mc_fill(mc_slab *s, uint32_t i, PyObject *key, PyObject *value,
                               Py_ssize_t size, double expires, int timed) {
    mc_node *n = mc_at(s, i);
    Py_INCREF(key);
    Py_INCREF(value);
    n->key = key;
    n->value = value;
    if (s->sized) *mc_size_slot(s, i) = size;
    mc_append(s, i, n);
    if (timed) n->expires = expires;
    return n;
}

/* Unlink node i (already out of the dict) from the rings into limbo: its key and value are
 * released by mc_settle, after the caller's critical section. */
static inline void mc_retire(mc_slab *s, uint32_t i, mc_node *n, int timed) {
    mc_unlink(s, n);
    if (timed) mc_tunlink(s, n);
    n->next = s->limbo;
    s->limbo = i;
}

/* Release the key and value of every node in limbo and free the nodes. Each node is freed
 * before its references are dropped, so destructors that use the cache find it consistent. */
static inline void mc_settle(mc_slab *s) {
    while (s->limbo != 0) {
        uint32_t i = s->limbo;
        mc_node *n = mc_at(s, i);
        PyObject *key = n->key, *value = n->value;
        s->limbo = n->next;
        n->key = n->value = NULL;
        n->next = s->free;
        s->free = i;
        Py_DECREF(key);
        Py_DECREF(value);
    }
    while (s->ndead != 0) Py_DECREF(s->dead[--s->ndead]);
}

/* Release every entry of a slab the cache no longer uses (its dict already dropped) and free
 * its blocks. */
static void mc_slab_release(mc_slab *old) {
    int b;
    for (b = 0; old->first != NULL && b <= old->nchunks; b++) {
        uint64_t used, i;
        char *block = mc_block(old, b, &used);
        for (i = 0; i < used; i++) {
            mc_node *n = (mc_node *)(block + i * old->stride);
            PyObject *key = n->key, *value = n->value;
            if (key == NULL) continue;
            n->key = n->value = NULL;
            Py_DECREF(key);
            Py_DECREF(value);
        }
    }
    while (old->ndead != 0) Py_DECREF(old->dead[--old->ndead]);
    mc_slab_free(old);
}

static int mc_slab_traverse(const mc_slab *s, visitproc visit, void *arg) {
    int b;
    for (b = 0; s->first != NULL && b <= s->nchunks; b++) {
        uint64_t used, i;
        char *block = mc_block(s, b, &used);
        for (i = 0; i < used; i++) {
            mc_node *n = (mc_node *)(block + i * s->stride);
            Py_VISIT(n->key);
            Py_VISIT(n->value);
        }
    }
    return 0;
}

/* Keys whose hashing and comparison run no Python code: exact str, int, float, bytes, bool,
 * None, a bare object(), and tuples of those (nested up to `depth`). */
static MC_NOINLINE int mc_plain_slow(PyObject *key, int depth) {
    PyTypeObject *t = Py_TYPE(key);
    Py_ssize_t i, n;
    if (t == &PyUnicode_Type || t == &PyLong_Type || t == &PyFloat_Type || t == &PyBytes_Type ||
        t == &PyBool_Type || key == Py_None || t == &PyBaseObject_Type)
        return 1;
    if (t != &PyTuple_Type || depth == 0) return 0;
    n = PyTuple_GET_SIZE(key);
    for (i = 0; i < n; i++) {
        if (!mc_plain_slow(PyTuple_GET_ITEM(key, i), depth - 1)) return 0;
    }
    return 1;
}

static inline int mc_plain_fast_type(PyTypeObject *t) {
    return t == &PyUnicode_Type || t == &PyLong_Type;
}

/* A memoised call's key is often a short tuple of ints and strs: those are checked inline. */
static inline int mc_plain(PyObject *key) {
    PyTypeObject *t = Py_TYPE(key);
    Py_ssize_t i, n;
    if (mc_plain_fast_type(t)) return 1;
    if (t != &PyTuple_Type) return mc_plain_slow(key, 2);
    n = PyTuple_GET_SIZE(key);
    for (i = 0; i < n; i++) {
        if (!mc_plain_fast_type(Py_TYPE(PyTuple_GET_ITEM(key, i)))) return mc_plain_slow(key, 2);
    }
    return 1;
}

/* The live value of key (borrowed; made the most recent, counted as a hit), or NULL: a miss, or
 * an error if one is set. `touch_expired`: an expired entry still becomes the most recent. */
static inline PyObject *mc_lookup(const mc_slab *s, PyObject *data, PyObject *key, int timed,
                                  double now, int touch_expired, unsigned long long *hits,
                                  unsigned long long *misses) {
    PyObject *found = PyDict_GetItemWithError(data, key);
    if (found != NULL) {
        mc_node *n = (mc_node *)found;
        if (!timed) {
            mc_touch_k(s, n, MC_UNTIMED_STRIDE);
            ++*hits;
            return n->value;
        }
        if (now < n->expires || touch_expired) mc_touch_k(s, n, MC_TIMED_STRIDE);
        if (now < n->expires) {
            ++*hits;
            return n->value;
        }
    } else if (PyErr_Occurred()) {
        return NULL;
    }
    ++*misses;
    return NULL;
}

/* -- the cache type's GC hooks: the slab's keys and values are the cache's references ------ */

static traverseproc mc_base_traverse;
static inquiry mc_base_clear;
static int (*mc_clear_entries)(PyObject *self);
static Py_ssize_t mc_slab_offset;

static int mc_traverse(PyObject *self, visitproc visit, void *arg) {
    int r = mc_base_traverse(self, visit, arg);
    if (r != 0) return r;
    return mc_slab_traverse((const mc_slab *)((const char *)self + mc_slab_offset), visit, arg);
}

static int mc_clear(PyObject *self) {
    mc_clear_entries(self);
    return mc_base_clear(self);
}

/* Called once at import, before any subclass exists: the cache type (whose instance layout
 * holds an mc_slab at `offset`) also visits and clears the entries in its slab. */
static int mc_install_gc(PyTypeObject *type, Py_ssize_t offset, int (*clear_entries)(PyObject *)) {
    mc_base_traverse = type->tp_traverse;
    mc_base_clear = type->tp_clear;
    mc_slab_offset = offset;
    mc_clear_entries = clear_entries;
    type->tp_traverse = mc_traverse;
    type->tp_clear = mc_clear;
    return PyType_Ready(&mc_node_type);
}

/* -- the clock --------------------------------------------------------------------------- */

/* time.monotonic()'s clock (CLOCK_MONOTONIC on Linux) read at kernel-tick resolution: the
 * coarse variant costs ~5 ns where the precise one costs ~25 ns, which would otherwise be most
 * of a cache hit. It lags the precise clock by at most one tick (1-4 ms). The vDSO's own entry
 * point is called when the C library lets us find it (glibc's wrapper adds ~3 ns); otherwise
 * clock_gettime. */
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
#include <dlfcn.h>
#define MC_FAST_CLOCK 1
typedef int (*mc_gettime_fn)(clockid_t, struct timespec *);
static mc_gettime_fn mc_gettime = clock_gettime;

static void mc_clock_init(void) {
    struct timespec probe;
    void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
    mc_gettime_fn direct;
    if (vdso == NULL) return;
    direct = (mc_gettime_fn)dlsym(vdso, "__vdso_clock_gettime");
    if (direct != NULL && direct(CLOCK_MONOTONIC_COARSE, &probe) == 0) mc_gettime = direct;
    dlclose(vdso);
}
static inline double mc_monotonic(void) {
    struct timespec ts;
    mc_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static inline double mc_monotonic_resolution(void) {
    struct timespec ts;
    clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#else
#define MC_FAST_CLOCK 0
static void mc_clock_init(void) {}
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

/* -- memoised calls ---------------------------------------------------------------------- */

/* A memoised function is called through the vectorcall protocol: the interpreter hands over
 * its argument array, so a hit builds no argument tuple (and, for one int or str argument, no
 * key either). Each instance keeps its vectorcall function at `offset`; tp_call goes through
 * it too. Called once at import, before any instance exists. */
static void mc_install_vectorcall(PyTypeObject *type, Py_ssize_t offset) {
    type->tp_vectorcall_offset = offset;
    type->tp_call = PyVectorcall_Call;
    type->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
}

/* The tuple of n arguments: the key of a positional call, as hashkey makes it. */
static inline PyObject *mc_args_tuple(PyObject *const *args, Py_ssize_t n) {
    Py_ssize_t i;
    PyObject *tuple = PyTuple_New(n);
    if (tuple == NULL) return NULL;
    for (i = 0; i < n; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(tuple, i, args[i]);
    }
    return tuple;
}

/* Plain arguments (ints and strs: their hashing and comparison run no Python code). */
static inline int mc_plain_args(PyObject *const *args, Py_ssize_t n) {
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        if (!mc_plain_fast_type(Py_TYPE(args[i]))) return 0;
    }
    return 1;
}

/* A probe is a tuple of n Nones that only its memoised function holds; for one lookup it holds
 * a call's arguments instead, saving the allocation of a key tuple on every hit. Nothing runs
 * Python code (or allocates) while it is loaded, so nobody sees it changed. Its Nones' references
 * stay counted while the arguments stand in for them. Tuples cache their hash from 3.14 on: the
 * cache is reset at each change. */
static inline void mc_probe_reset_hash(PyObject *probe) {
#if PY_VERSION_HEX >= 0x030E00A7 /* 3.14.0a7 */
    ((PyTupleObject *)probe)->ob_hash = -1;
#else
    (void)probe;
#endif
}

static inline void mc_probe_load(PyObject *probe, PyObject *const *args, Py_ssize_t n) {
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(probe, i, args[i]);
    }
    mc_probe_reset_hash(probe);
}

static inline void mc_probe_unload(PyObject *probe, Py_ssize_t n) {
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        Py_DECREF(PyTuple_GET_ITEM(probe, i));
        PyTuple_SET_ITEM(probe, i, Py_None);
    }
    mc_probe_reset_hash(probe);
}

#endif /* MASTRA_CACHE_H */
