# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, embedsignature=True
"""Exact top-k kernels (private; the public face is mastra.vector.top_k).

Arguments arrive validated and laid out by mastra/vector/kernels.py and compressed.py; this
layer checks that the arrays agree in shape (cheap, and it keeps the C side in bounds), fills
the C task and runs it without the GIL.
"""

from libc.stdint cimport int8_t, int64_t, uint8_t

cdef extern from "mastra_cpu.h" nogil:
    int mastra_simd_level()
    int mastra_simd_detected()
    int mastra_simd_from_name(const char *name)
    const char *mastra_simd_name(int level)
    int mastra_int8_dot(int level)
    const char *mastra_int8_name(int level, int dot)

cdef extern from "mastra_search.h" nogil:
    enum:
        MT_F32
        MT_F16
        MT_I8
        MT_I8_MAX_D
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
        const int8_t *qcodes
        const float *qscale
        const float *offsets
        int metric
        int normalized
        const uint8_t *mask
        const int64_t *rows
        int64_t n_rows
    int mt_search(const mt_task *t, int64_t k, int threads, int level, int int8_dot,
                  int64_t *out_ids, float *out_scores)

KINDS = {"float32": MT_F32, "float16": MT_F16, "int8": MT_I8}
INT8_MAX_DIMENSION = MT_I8_MAX_D

cdef int _level = mastra_simd_level()
cdef int _detected = mastra_simd_detected()
cdef int _int8_dot = mastra_int8_dot(_level)


def level():
    """The SIMD level the kernels use now."""
    return mastra_simd_name(_level).decode()


def int8_variant():
    """The int8 kernels in use: the level, with "-vnni" or "-dotprod" when they use its integer
    dot-product extension."""
    return mastra_int8_name(_level, _int8_dot).decode()


def set_level(str name, bint int8_dot=True):
    """Use another SIMD level (tests run every variant this way); never above what the CPU
    supports. The int8 kernels use the level's dot-product extension when int8_dot is true and
    the CPU has it. Returns the level now in use."""
    global _level, _int8_dot
    cdef int wanted = mastra_simd_from_name(name.encode())
    if wanted < 0:
        raise ValueError(f"unknown SIMD level {name!r}")
    _level = wanted if wanted < _detected else _detected
    if _level == 1 and _detected != 1:  # NEON on x86 means the plain C build
        _level = 0
    _int8_dot = int8_dot and mastra_int8_dot(_level)
    return level()


def int8_dot_available(str name):
    """True when the int8 kernels of level `name` have a dot-product extension on this CPU."""
    cdef int wanted = mastra_simd_from_name(name.encode())
    return wanted >= 0 and wanted <= _detected and bool(mastra_int8_dot(wanted))


def kernels():
    """Kernel name -> SIMD level it dispatches to (for mastra.native_info)."""
    name = level()
    return {"top_k.float32": name, "top_k.float32.batch": name, "top_k.float16": name,
            "top_k.int8": int8_variant()}


cdef _check(bint ok, str what):
    if not ok:
        raise ValueError(f"kernel arguments disagree: {what}")


def search(matrix, int kind, const float[:, ::1] queries, const int8_t[:, ::1] qcodes,
           const float[::1] qscale, const float[::1] offsets, int64_t k, int metric,
           bint normalized, const uint8_t[::1] mask, const int64_t[::1] rows,
           const float[::1] query_sq, const float[::1] row_sq, int threads,
           int64_t[:, ::1] out_ids, float[:, ::1] out_scores):
    """Fill out_ids / out_scores (n_queries x k) with the best k rows of `matrix` per query.

    matrix: float32 (n, d) for MT_F32, else its raw bytes as uint8 (n, d * itemsize).
    queries: float32 (m, d), used by MT_F32 and MT_F16. For MT_I8, qcodes (m, d) in [-127, 127],
    qscale (m,) and offsets (m,): a row scores qscale * (qcodes . codes) + offsets.
    query_sq (m,) and row_sq (n,) serve euclidean; mask (n,) selects rows, and so does rows,
    an ascending list of the only rows to scan.
    """
    cdef const uint8_t[:, ::1] raw = matrix if kind != MT_F32 else None
    cdef const float[:, ::1] f32 = matrix if kind == MT_F32 else None
    cdef mt_task task
    cdef int64_t m = queries.shape[0], d = queries.shape[1], i, j
    cdef bint in_range = True
    task.kind = kind
    task.n = f32.shape[0] if kind == MT_F32 else raw.shape[0]
    task.d = d
    _check(kind in (MT_F32, MT_F16, MT_I8), f"unknown kind {kind}")
    _check((f32.shape[1] if kind == MT_F32 else raw.shape[1]) == d * (2 if kind == MT_F16 else 1),
           "matrix and query dimensions")
    _check(m > 0 and k > 0, "no queries or k = 0")
    _check(out_ids.shape[0] == m and out_scores.shape[0] == m and out_ids.shape[1] == k
           and out_scores.shape[1] == k, "output shapes")
    _check(mask is None or mask.shape[0] == task.n, "mask length")
    if rows is not None:
        for i in range(rows.shape[0]):
            in_range &= 0 <= rows[i] < task.n and (i == 0 or rows[i] > rows[i - 1])
        _check(in_range, "listed rows must ascend inside the matrix")
    _check(query_sq is None or query_sq.shape[0] == m, "query norms")
    _check(row_sq is None or row_sq.shape[0] == task.n, "row norms")
    _check(metric != 2 or (query_sq is not None and (kind == MT_F32 or row_sq is not None)),
           "euclidean needs the norms")
    task.matrix = NULL
    task.cmatrix = NULL
    task.qcodes = NULL
    task.qscale = NULL
    task.offsets = NULL
    if kind == MT_F32:
        task.matrix = &f32[0, 0] if task.n else NULL
    else:
        task.cmatrix = &raw[0, 0] if task.n else NULL
    if kind == MT_I8:
        _check(qcodes is not None and qcodes.shape[0] == m and qcodes.shape[1] == d,
               "int8 query codes")
        _check(qscale is not None and qscale.shape[0] == m and offsets is not None
               and offsets.shape[0] == m, "int8 query scales")
        _check(d <= MT_I8_MAX_D, f"int8 dimension above {MT_I8_MAX_D}")
        for i in range(m):
            for j in range(d):
                in_range &= qcodes[i, j] != -128
        _check(in_range, "int8 query codes must be in [-127, 127]")
        task.qcodes = &qcodes[0, 0] if d else NULL
        task.qscale = &qscale[0]
        task.offsets = &offsets[0]
    task.queries = &queries[0, 0] if d else NULL
    task.n_queries = m
    task.query_sq = &query_sq[0] if query_sq is not None else NULL
    task.row_sq = &row_sq[0] if row_sq is not None and task.n else NULL
    task.metric = metric
    task.normalized = normalized
    task.mask = &mask[0] if mask is not None and task.n else NULL
    task.rows = &rows[0] if rows is not None and rows.shape[0] else NULL
    task.n_rows = rows.shape[0] if rows is not None else 0
    if rows is not None and task.rows == NULL:  # an empty list scans nothing
        task.n = 0
    cdef int rc
    cdef int level_now = _level, dot_now = _int8_dot
    with nogil:
        rc = mt_search(&task, k, threads, level_now, dot_now, &out_ids[0, 0], &out_scores[0, 0])
    if rc != 0:
        raise MemoryError(f"top-k heaps for {task.n_queries} queries x k={k} do not fit in memory")
