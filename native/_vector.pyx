# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, embedsignature=True
"""Exact top-k kernels (private; the public face is mastra.vector.top_k).

Arguments arrive validated and laid out by mastra/vector/kernels.py; this layer only fills the
C task and runs it without the GIL.
"""

from libc.stdint cimport int64_t, uint8_t

cdef extern from "mastra_cpu.h" nogil:
    int mastra_simd_level()
    int mastra_simd_detected()
    int mastra_simd_from_name(const char *name)
    const char *mastra_simd_name(int level)

cdef extern from "mastra_search.h" nogil:
    enum:
        MT_F32
        MT_F16
        MT_I8
    ctypedef struct mt_task:
        const float *matrix
        const void *cmatrix
        int kind
        int64_t n
        int64_t d
        const float *queries
        int64_t n_queries
        const float *query_sq
        const float *row_sq
        float offset
        int metric
        int normalized
        const uint8_t *mask
    int mt_search(const mt_task *t, int64_t k, int threads, int level, int64_t *out_ids,
                  float *out_scores)

KINDS = {"float32": MT_F32, "float16": MT_F16, "int8": MT_I8}

cdef int _level = mastra_simd_level()
cdef int _detected = mastra_simd_detected()


def level():
    """The SIMD level the kernels use now."""
    return mastra_simd_name(_level).decode()


def set_level(str name):
    """Use another SIMD level (tests run every variant this way); never above what the CPU
    supports. Returns the level now in use."""
    global _level
    cdef int wanted = mastra_simd_from_name(name.encode())
    if wanted < 0:
        raise ValueError(f"unknown SIMD level {name!r}")
    _level = wanted if wanted < _detected else _detected
    if _level == 1 and _detected != 1:  # NEON on x86 means the plain C build
        _level = 0
    return level()


def kernels():
    """Kernel name -> SIMD level it dispatches to (for mastra.native_info)."""
    name = level()
    return {"top_k.float32": name, "top_k.float32.batch": name, "top_k.float16": name,
            "top_k.int8": name}


def search(matrix, int kind, const float[:, ::1] queries, int64_t k, int metric,
           bint normalized, const uint8_t[::1] mask, const float[::1] query_sq,
           const float[::1] row_sq, float offset, int threads,
           int64_t[:, ::1] out_ids, float[:, ::1] out_scores):
    """Fill out_ids / out_scores (n_queries x k) with the best k rows of `matrix` per query.

    matrix: float32 (n, d) for MT_F32, else its raw bytes as uint8 (n, d * itemsize).
    """
    cdef const uint8_t[:, ::1] raw = matrix if kind != MT_F32 else None
    cdef const float[:, ::1] f32 = matrix if kind == MT_F32 else None
    cdef mt_task task
    task.kind = kind
    task.n = f32.shape[0] if kind == MT_F32 else raw.shape[0]
    task.d = queries.shape[1]
    task.matrix = NULL
    task.cmatrix = NULL
    if kind == MT_F32:
        task.matrix = &f32[0, 0]
    else:
        task.cmatrix = &raw[0, 0]
    task.queries = &queries[0, 0]
    task.n_queries = queries.shape[0]
    task.query_sq = &query_sq[0] if query_sq is not None else NULL
    task.row_sq = &row_sq[0] if row_sq is not None else NULL
    task.offset = offset
    task.metric = metric
    task.normalized = normalized
    task.mask = &mask[0] if mask is not None else NULL
    cdef int rc
    cdef int level_now = _level
    with nogil:
        rc = mt_search(&task, k, threads, level_now, &out_ids[0, 0], &out_scores[0, 0])
    if rc != 0:
        raise MemoryError(f"top-k heaps for {task.n_queries} queries x k={k} do not fit in memory")
