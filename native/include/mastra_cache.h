/* Storage for the LRU/TTL cache (native/_cache.pyx): a slab of nodes and the cache's own hash
 * table of them.
 *
 * Each entry is a node: key, value, the key's hash, two 32-bit links in each of three rings
 * (recency, insertion order, and for timed caches expiry) and a deadline: 40 bytes, or 56 with
 * a time to live. Nodes live in blocks that never move; a node whose key is NULL is free.
 *
 * The table is open addressing with linear probing: one 64-bit slot per position, the node's
 * index in the low half (0: empty) and a tag in the high half: the top 32 bits of the key's
 * hash, folded in half and times a 64-bit odd constant (Fibonacci hashing, so sequential ints
 * and hashes that differ only in their top bits spread out). A key's
 * home position is the tag's top `bits` bits, so growing the table and deleting (backward
 * shift, no tombstones) never touch a node, and a probe compares a node's key only when the
 * tags match. Keys compare as a dict compares them: the same object, or an equal hash and ==
 * (exact str and int keys inline, without a call).
 *
 * Links are node indices, not pointers. Index 0 is the root of every ring: `next` from the root
 * is the least recently used node, `inext` the first inserted, `tnext` the one with the earliest
 * deadline. The first block holds indices [0, nfirst): every node the cache can need when it
 * knows that number (no getsizeof, maxsize up to ~8 MB of nodes), so an index becomes an
 * address with a multiply and an add. Past it, chunk k holds the far indices f = i - nfirst in
 * [8 (2^k - 1), 8 (2^(k+1) - 1)), found with one bit scan. Blocks are zeroed memory, so the
 * pages of a large first block are only touched as the cache fills.
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
    PyObject *key; /* NULL while the node is free */
    PyObject *value;
    Py_hash_t hash;
    uint32_t prev, next;   /* recency ring; `next` chains the free list and limbo */
    uint32_t iprev, inext; /* insertion order ring: iteration */
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
    uint64_t *slots; /* the table: (tag << 32) | node index, 0 when empty */
    int bits;        /* the table has 2^bits slots */
    uint32_t count;  /* entries in the table */
} mc_slab;

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

static inline void mc_touch(const mc_slab *s, uint32_t i, mc_node *n) {
    if (n->next == 0) return; /* already the most recent */
    mc_unlink(s, n);
    mc_append(s, i, n);
}

#if defined(__GNUC__)
#define MC_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MC_ALWAYS_INLINE __forceinline
#endif

static MC_ALWAYS_INLINE mc_node *mc_at_k(const mc_slab *s, uint32_t i, size_t stride) {
    if (MC_LIKELY(i < s->nfirst)) return (mc_node *)(s->first + (size_t)i * stride);
    return mc_at_far(s, i);
}

/* The hit path's mc_touch of node i, for a stride known at compile time. */
static MC_ALWAYS_INLINE void mc_touch_k(const mc_slab *s, uint32_t i, mc_node *n,
                                         size_t stride) {
    mc_node *root = mc_root(s);
    if (n->next == 0) return; /* already the most recent */
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

#define MC_LEAST_BITS 3
#define MC_MOST_BITS (sizeof(size_t) >= 8 ? 32 : 28)

/* An empty slab (the root alone) of nodes for a timed cache or not, with sizes or not, and its
 * empty table. `want`: the most items the cache can hold (0: no limit known). */
static int mc_slab_init(mc_slab *s, int timed, int sized, uint64_t want) {
    uint64_t nfirst;
    memset(s, 0, sizeof(*s));
    s->stride = timed ? MC_TIMED_STRIDE : MC_UNTIMED_STRIDE;
    s->sized = sized;
    s->want = want ? want + 1 : 0;
    nfirst = s->want ? s->want : (uint64_t)1 << MC_FAR_SHIFT;
    if (nfirst * s->stride > MC_FIRST_MOST_BYTES) nfirst = MC_FIRST_MOST_BYTES / s->stride;
    if (mc_alloc_block(s, nfirst, &s->first, &s->first_sizes) < 0) return -1;
    s->slots = (uint64_t *)PyMem_Calloc((size_t)1 << MC_LEAST_BITS, sizeof(uint64_t));
    if (s->slots == NULL) {
        PyMem_Free(s->first);
        PyMem_Free(s->first_sizes);
        PyErr_NoMemory();
        return -1;
    }
    s->bits = MC_LEAST_BITS;
    s->nfirst = (uint32_t)nfirst;
    s->end = (uint32_t)nfirst;
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

/* Free the blocks and the table of a slab whose nodes have all been released (keys NULL). */
static void mc_slab_free(mc_slab *s) {
    int b;
    for (b = 0; s->first != NULL && b <= s->nchunks; b++) {
        PyMem_Free(b == 0 ? s->first : s->chunk[b - 1]);
        PyMem_Free(b == 0 ? s->first_sizes : s->sizes[b - 1]);
    }
    PyMem_Free(s->dead);
    PyMem_Free(s->slots);
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
    return s->top++;
}

/* -- the table --------------------------------------------------------------------------- */

#define MC_MIX 0x9E3779B97F4A7C15ull

/* The cached hash of an exact str (-1 when not computed yet): the field itself until the
 * accessor CPython 3.15 adds. */
#if PY_VERSION_HEX >= 0x030F00A1
#define MC_STR_HASH(o) PyUnstable_Unicode_GET_CACHED_HASH(o)
#else
#define MC_STR_HASH(o) (((PyASCIIObject *)(o))->hash)
#endif

/* An exact int's value when it fits one machine word the cheap way (*small set), as CPython's
 * own fast paths read it. */
static inline Py_ssize_t mc_small_int(PyObject *o, int *small) {
#if PY_VERSION_HEX >= 0x030C0000
    *small = PyUnstable_Long_IsCompact((PyLongObject *)o);
    return *small ? PyUnstable_Long_CompactValue((PyLongObject *)o) : 0;
#else
    Py_ssize_t size = Py_SIZE(o);
    *small = size >= -1 && size <= 1;
    return *small ? size * (Py_ssize_t)((PyLongObject *)o)->ob_digit[0] : 0;
#endif
}

/* hash(key), or -1 with an error set. Exact strs and small ints are hashed inline (an int's
 * hash is itself, except -1's, which is -2). */
static inline Py_hash_t mc_hash(PyObject *key) {
    PyTypeObject *t = Py_TYPE(key);
    if (t == &PyUnicode_Type) {
        Py_hash_t hash = MC_STR_HASH(key);
        if (MC_LIKELY(hash != -1)) return hash;
    } else if (t == &PyLong_Type) {
        int small;
        Py_ssize_t value = mc_small_int(key, &small);
        if (small) return value == -1 ? -2 : (Py_hash_t)value;
    }
    return PyObject_Hash(key);
}

/* The top half of the hash mixed: its high half folded onto its low half (so hashes that differ
 * only in their top bits still spread), times an odd constant. */
static inline uint32_t mc_tag(Py_hash_t hash) {
    uint64_t h = (uint64_t)hash;
    return (uint32_t)(((h ^ (h >> 32)) * MC_MIX) >> 32);
}

static inline size_t mc_home(const mc_slab *s, uint32_t tag) {
    return (size_t)(tag >> (32 - s->bits));
}

static inline size_t mc_mask(const mc_slab *s) { return ((size_t)1 << s->bits) - 1; }

static MC_ALWAYS_INLINE int mc_bytes_equal(const char *a, const char *b, size_t n) {
    uint64_t x, y;
    if (n > 64) return memcmp(a, b, n) == 0;
    for (; n >= 8; a += 8, b += 8, n -= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
    }
    for (; n != 0; a++, b++, n--) {
        if (*a != *b) return 0;
    }
    return 1;
}

/* A str's characters: inline for the compact ASCII strs most keys are. */
static MC_ALWAYS_INLINE const char *mc_str_data(PyObject *o) {
    if (MC_LIKELY(PyUnicode_IS_COMPACT_ASCII(o))) return (const char *)((PyASCIIObject *)o + 1);
    return (const char *)PyUnicode_DATA(o);
}

static MC_NOINLINE int mc_equal_slow(PyObject *stored, PyObject *key, int tuples);

/* stored == key, as a dict decides it once the hashes match: 1, 0, or -1 with an error set.
 * Exact strs and ints, and (when `tuples`) same-length tuples of them, run no Python code. */
static MC_ALWAYS_INLINE int mc_equal_to(PyObject *stored, PyObject *key, int tuples) {
    PyTypeObject *t = Py_TYPE(stored);
    if (stored == key) return 1;
    if (t == Py_TYPE(key)) {
        if (t == &PyUnicode_Type) {
            Py_ssize_t length = PyUnicode_GET_LENGTH(stored);
            int kind = (int)PyUnicode_KIND(stored);
            return length == PyUnicode_GET_LENGTH(key) && kind == (int)PyUnicode_KIND(key) &&
                   mc_bytes_equal(mc_str_data(stored), mc_str_data(key),
                                  (size_t)length * (size_t)kind);
        }
        if (t == &PyLong_Type) {
            int small_stored, small_key;
            Py_ssize_t a = mc_small_int(stored, &small_stored), b = mc_small_int(key, &small_key);
            if (small_stored && small_key) return a == b;
        }
    }
    return mc_equal_slow(stored, key, tuples);
}

#define mc_equal(stored, key) mc_equal_to((stored), (key), 1)

/* Tuples one level deep item by item (a memoised call's key); anything else, and nested
 * tuples, through ==, which guards its own recursion. */
static MC_NOINLINE int mc_equal_slow(PyObject *stored, PyObject *key, int tuples) {
    int equal;
    if (tuples && Py_TYPE(stored) == &PyTuple_Type && Py_TYPE(key) == &PyTuple_Type &&
        PyTuple_GET_SIZE(stored) == PyTuple_GET_SIZE(key)) {
        Py_ssize_t i, n = PyTuple_GET_SIZE(stored);
        for (i = 0; i < n; i++) {
            equal = mc_equal_to(PyTuple_GET_ITEM(stored, i), PyTuple_GET_ITEM(key, i), 0);
            if (equal != 1) return equal;
        }
        return 1;
    }
    Py_INCREF(stored);
    equal = PyObject_RichCompareBool(stored, key, Py_EQ);
    Py_DECREF(stored);
    return equal;
}

/* The index of key's node (hash is hash(key)), 0 when absent, or -1 when a key's __eq__ raised.
 * `stride`: the slab's, a constant where the caller knows it. */
static MC_ALWAYS_INLINE int64_t mc_find_k(const mc_slab *s, PyObject *key, Py_hash_t hash,
                                          size_t stride) {
    uint32_t tag = mc_tag(hash);
    size_t mask = mc_mask(s), at = mc_home(s, tag);
    for (;; at = (at + 1) & mask) {
        uint64_t slot = s->slots[at];
        uint32_t i = (uint32_t)slot;
        const mc_node *n;
        int equal;
        if (i == 0) return 0;
        if ((uint32_t)(slot >> 32) != tag) continue;
        n = mc_at_k(s, i, stride);
        if (MC_LIKELY(n->key == key)) return i;
        if (n->hash != hash) continue;
        equal = mc_equal(n->key, key);
        if (equal > 0) return i;
        if (equal < 0) return -1;
    }
}

static int64_t mc_find(const mc_slab *s, PyObject *key, Py_hash_t hash) {
    return mc_find_k(s, key, hash, s->stride);
}

/* The index of key's node; 0 when absent or on error (check PyErr_Occurred). */
static uint32_t mc_get(const mc_slab *s, PyObject *key) {
    Py_hash_t hash = mc_hash(key);
    int64_t found;
    if (hash == -1) return 0;
    found = mc_find(s, key, hash);
    return found > 0 ? (uint32_t)found : 0;
}

/* Put node i at the first free slot from its home (its key is known to be absent). */
static inline void mc_place(uint64_t *slots, int bits, uint32_t tag, uint32_t i) {
    size_t mask = ((size_t)1 << bits) - 1, at = (size_t)(tag >> (32 - bits));
    while ((uint32_t)slots[at] != 0) at = (at + 1) & mask;
    slots[at] = ((uint64_t)tag << 32) | i;
}

/* Room in the table for one more entry (0), or -1 with MemoryError set. The table doubles
 * when it would be more than two thirds full. */
static int mc_reserve(mc_slab *s) {
    size_t size = (size_t)1 << s->bits, at;
    uint64_t *grown;
    if (MC_LIKELY(((uint64_t)s->count + 1) * 3 <= (uint64_t)size * 2)) return 0;
    if (s->bits == (int)MC_MOST_BITS) {
        PyErr_SetString(PyExc_MemoryError, "cache holds the most entries its table can");
        return -1;
    }
    grown = (uint64_t *)PyMem_Calloc(size * 2, sizeof(uint64_t));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (at = 0; at < size; at++) {
        uint64_t slot = s->slots[at];
        if ((uint32_t)slot != 0) mc_place(grown, s->bits + 1, (uint32_t)(slot >> 32), (uint32_t)slot);
    }
    PyMem_Free(s->slots);
    s->slots = grown;
    s->bits++;
    return 0;
}

/* Take node i's slot out of the table, shifting later slots of its probe run back so that no
 * lookup stops early. */
static void mc_unplace(mc_slab *s, uint32_t i, Py_hash_t hash) {
    size_t mask = mc_mask(s), at = mc_home(s, mc_tag(hash)), next;
    while ((uint32_t)s->slots[at] != i) at = (at + 1) & mask;
    for (next = (at + 1) & mask; (uint32_t)s->slots[next] != 0; next = (next + 1) & mask) {
        size_t home = mc_home(s, (uint32_t)(s->slots[next] >> 32));
        /* The slot at `next` may fill the hole unless its home lies cyclically in (at, next]. */
        int stays = at <= next ? (at < home && home <= next) : (at < home || home <= next);
        if (stays) continue;
        s->slots[at] = s->slots[next];
        at = next;
    }
    s->slots[at] = 0;
}

/* -- entries ----------------------------------------------------------------------------- */

/* Fill free node i with key, its hash and value (new references) and link it in as the most
 * recent. The caller links it into the expiry ring (timed caches) and enters it (mc_enter). */
static inline mc_node *mc_fill(mc_slab *s, uint32_t i, PyObject *key, Py_hash_t hash,
                               PyObject *value, Py_ssize_t size, double expires, int timed) {
    mc_node *n = mc_at(s, i);
    Py_INCREF(key);
    Py_INCREF(value);
    n->key = key;
    n->hash = hash;
    n->value = value;
    if (s->sized) *mc_size_slot(s, i) = size;
    mc_append(s, i, n);
    if (timed) n->expires = expires;
    return n;
}

/* Put filled node i in the table (mc_reserve made room; its key is absent) and last in
 * insertion order. */
static inline void mc_enter(mc_slab *s, uint32_t i, mc_node *n) {
    mc_node *root = mc_root(s);
    mc_place(s->slots, s->bits, mc_tag(n->hash), i);
    s->count++;
    n->iprev = root->iprev;
    n->inext = 0;
    mc_at(s, root->iprev)->inext = i;
    root->iprev = i;
}

/* Take node i out of the table and the rings into limbo: its key and value are released by
 * mc_settle, after the caller's critical section. */
static inline void mc_retire(mc_slab *s, uint32_t i, mc_node *n, int timed) {
    mc_unplace(s, i, n->hash);
    s->count--;
    mc_at(s, n->iprev)->inext = n->inext;
    mc_at(s, n->inext)->iprev = n->iprev;
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
static MC_ALWAYS_INLINE PyObject *mc_lookup(const mc_slab *s, PyObject *key, int timed, double now,
                                  int touch_expired, unsigned long long *hits,
                                  unsigned long long *misses) {
    size_t stride = timed ? MC_TIMED_STRIDE : MC_UNTIMED_STRIDE;
    Py_hash_t hash = mc_hash(key);
    int64_t found;
    mc_node *n;
    if (hash == -1) return NULL;
    found = mc_find_k(s, key, hash, stride);
    if (found <= 0) {
        if (found < 0) return NULL;
        ++*misses;
        return NULL;
    }
    n = mc_at_k(s, (uint32_t)found, stride);
    if (!timed || now < n->expires || touch_expired) mc_touch_k(s, (uint32_t)found, n, stride);
    if (!timed || now < n->expires) {
        ++*hits;
        return n->value;
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
    return 0;
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
