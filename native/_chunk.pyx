# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Recursive text splitting on character offsets, and the chunk objects built from the offsets
(private; the public face is mastra.rag.RecursiveChunker).

The rules are LangChain's RecursiveCharacterTextSplitter with its defaults (separators kept at
the start of the piece they open, chunks stripped of whitespace), computed on spans of the
text: pieces are (start, end) pairs, a merged chunk is the span from its first piece's start
to its last piece's end. Separators are located on the string's own storage, one SIMD pass
per range and separator listing every occurrence (native/include/mastra_textscan.h); pieces
are merged a chunk at a time; the spans collect in a C buffer, and only the final chunks
become Python objects. A Splitter keeps its separator table and buffers from text to text."""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy
from cpython.unicode cimport Py_UNICODE_ISSPACE
from cpython.dict cimport PyDict_Copy

cdef extern from "Python.h":
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    Py_UCS4 PyUnicode_READ(int kind, const void *data, Py_ssize_t index) nogil
    # CPython's own slice (an ASCII text's slices skip the widest-character scan)
    str PyUnicode_Substring(str text, Py_ssize_t start, Py_ssize_t end)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    bint PyUnicode_IS_ASCII(object)

cdef extern from "mastra_cpu.h":
    int mastra_simd_level() nogil
    int mastra_simd_from_name(const char *name) nogil
    int mastra_simd_detected() nogil

cdef extern from "mastra_textscan.h":
    # The positions p in [a, b) of c0 followed (second = 1) by c1, each at least m after the
    # one kept before, into out (room places); returns how many, stop = b when all were seen,
    # else where to go on from.
    ctypedef Py_ssize_t (*mastra_findall_fn)(
        int kind, const void *data, Py_ssize_t a, Py_ssize_t b, uint32_t c0, uint32_t c1,
        int second, Py_ssize_t m, Py_ssize_t *out, Py_ssize_t room,
        Py_ssize_t *stop) noexcept nogil
    mastra_findall_fn mastra_findall_for(int level) nogil
    const char *mastra_findall_name(int level) nogil
    # The loops that copy a chunk out (the OR of its characters, two bytes narrowed to one).
    ctypedef struct mastra_copy_ops:
        uint32_t (*or_ucs1)(const uint8_t *s, Py_ssize_t n) noexcept nogil
        uint32_t (*or_ucs2)(const uint16_t *s, Py_ssize_t n) noexcept nogil
        void (*narrow_ucs2)(const uint16_t *s, Py_ssize_t n, uint8_t *out) noexcept nogil
    mastra_copy_ops mastra_copy_for(int level) nogil

# The separator scan and copy loops and the SIMD level they were chosen for (set_scan_level
# changes them).
cdef mastra_findall_fn findall = mastra_findall_for(mastra_simd_level())
cdef mastra_copy_ops copy_ops = mastra_copy_for(mastra_simd_level())
cdef int findall_level = mastra_simd_level()
# Ranges at least this long are scanned with the GIL released.
DEF NOGIL_CHARS = 1 << 16


def scan_level():
    """The variant of the separator scan in use: "avx2" or "scalar"."""
    return mastra_findall_name(findall_level).decode()


def kernels():
    """Kernel name -> the variant it runs here (for mastra.native_info)."""
    return {"chunk.separator_scan": scan_level()}


def set_scan_level(str name):
    """Use the scan for SIMD level ``name`` (at most what this CPU has); returns the variant
    used before. For tests that run every variant in one process."""
    global findall, copy_ops, findall_level
    cdef int level = mastra_simd_from_name(name.encode())
    if level < 0 or level > mastra_simd_detected():
        raise ValueError(f"SIMD level {name!r} is unknown or not supported by this CPU")
    before = scan_level()
    findall, copy_ops, findall_level = mastra_findall_for(level), mastra_copy_for(level), level
    return before


cdef struct Offsets:
    Py_ssize_t *at
    Py_ssize_t count
    Py_ssize_t capacity


cdef Py_ssize_t *offsets_reserve(Offsets *o, Py_ssize_t more) except NULL:
    """Room for ``more`` offsets after the ones held; the free room's start."""
    cdef Py_ssize_t capacity
    cdef Py_ssize_t *grown
    if o.count + more > o.capacity:
        capacity = max(2 * o.capacity, o.count + more, 64)
        grown = <Py_ssize_t *>realloc(o.at, capacity * sizeof(Py_ssize_t))
        if grown == NULL:
            raise MemoryError()
        o.at, o.capacity = grown, capacity
    return o.at + o.count


cdef int offsets_push2(Offsets *o, Py_ssize_t a, Py_ssize_t b) except -1:
    cdef Py_ssize_t *room = offsets_reserve(o, 2)
    room[0], room[1] = a, b
    o.count += 2
    return 0


cdef struct Separator:
    Py_UCS4 *chars
    Py_ssize_t length


cdef struct Level:
    Offsets cuts   # the occurrences of the separator tried last at this depth, then the cuts


# Work buffers larger than this (offsets) are given back after a text instead of kept.
DEF KEEP_OFFSETS = 1 << 18


@cython.final  # direct calls between its methods, no virtual table
cdef class Splitter:
    """The compiled recursive split for one setting: the separator table and work buffers,
    reused from one text to the next (a thread that finds them in use gets its own)."""

    cdef readonly Py_ssize_t size, overlap
    cdef readonly list separators
    cdef Py_ssize_t nseps
    cdef Separator *seps
    cdef Level *levels   # one per recursion depth (at most nseps deep)
    cdef Offsets out     # chunk spans: start, end, start, end ...
    cdef bint busy       # a text's split or its output is under way
    # The text being split.
    cdef str text
    cdef int kind
    cdef const void *data

    def __cinit__(self, Py_ssize_t size, Py_ssize_t overlap, list separators):
        cdef Py_ssize_t i, j, total = 0
        cdef str separator
        if size <= 0 or overlap < 0 or overlap >= size or not separators:
            raise ValueError("recursive splitting needs size > overlap >= 0 and separators")
        for item in separators:
            if not isinstance(item, str):
                raise TypeError("separators must be str")
            total += len(item)
        self.size, self.overlap, self.separators = size, overlap, list(separators)
        self.nseps = len(separators)
        # One block: the Separator table, then every separator's characters.
        self.seps = <Separator *>malloc(
            self.nseps * sizeof(Separator) + (total + 1) * sizeof(Py_UCS4))
        self.levels = <Level *>calloc(self.nseps + 1, sizeof(Level))
        if self.seps == NULL or self.levels == NULL:
            raise MemoryError()
        cdef Py_UCS4 *chars = <Py_UCS4 *>(self.seps + self.nseps)
        for i in range(self.nseps):
            separator = separators[i]
            self.seps[i].chars, self.seps[i].length = chars, len(separator)
            for j in range(len(separator)):
                chars[j] = separator[j]
            chars += len(separator)

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.levels != NULL:
            for i in range(self.nseps + 1):
                free(self.levels[i].cuts.at)
            free(self.levels)
        free(self.out.at)
        free(self.seps)

    def __reduce__(self):
        return Splitter, (self.size, self.overlap, self.separators)

    def spans(self, str text):
        """(start, end) of each chunk of ``text``."""
        cdef Splitter state = self.start(text)
        cdef Py_ssize_t i
        try:
            return [(state.out.at[2 * i], state.out.at[2 * i + 1])
                    for i in range(state.out.count // 2)]
        finally:
            state.finish()

    def texts(self, str text):
        """The text of each chunk of ``text`` (the spans' slices)."""
        cdef Splitter state = self.start(text)
        cdef Py_ssize_t i
        try:
            return [slice_of(text, state.out.at[2 * i], state.out.at[2 * i + 1])
                    for i in range(state.out.count // 2)]
        finally:
            state.finish()

    def chunks(self, str text, dict template, object chunk_type):
        """The chunks of ``text`` as ``chunk_type(text, metadata, start, end)`` objects; each
        metadata is a copy of ``template`` with its position, start and end filled in."""
        cdef Splitter state = self.start(text)
        cdef Py_ssize_t i
        try:
            return [make_chunk(text, state.out.at[2 * i], state.out.at[2 * i + 1], i, template,
                               chunk_type) for i in range(state.out.count // 2)]
        finally:
            state.finish()

    cdef Splitter start(self, str text):
        """Split ``text``: here, or in a new Splitter when another thread is using this one
        (building the output can run other threads: a collection's finalizers); the spans
        are in the returned one's ``out`` until its ``finish``."""
        cdef Splitter state = self
        if self.busy:
            state = Splitter(self.size, self.overlap, self.separators)
        state.busy = True
        state.text, state.kind, state.data = text, PyUnicode_KIND(text), PyUnicode_DATA(text)
        state.out.count = 0
        try:
            state.split(0, len(text), 0, 0)
        except BaseException:
            state.finish()
            raise
        return state

    cdef void finish(self) noexcept:
        """The text is done with: let go of it and of buffers grown large."""
        cdef Py_ssize_t i
        self.text, self.data = None, NULL
        for i in range(self.nseps + 1):
            if self.levels[i].cuts.capacity > KEEP_OFFSETS:
                free(self.levels[i].cuts.at)
                self.levels[i].cuts.at, self.levels[i].cuts.capacity = NULL, 0
        if self.out.capacity > KEEP_OFFSETS:
            free(self.out.at)
            self.out.at, self.out.capacity = NULL, 0
        self.busy = False

    cdef Py_ssize_t find_all(self, Level *level, const Separator *sep, Py_ssize_t a,
                             Py_ssize_t b) except -1:
        """The occurrences of ``sep`` (length >= 1) inside text[a:b], left to right and not
        overlapping, at level.cuts.at[1:n + 1] (the place before is kept for ``cut``);
        returns n."""
        cdef Offsets *cuts = &level.cuts
        cdef uint32_t c0 = sep.chars[0], c1 = sep.chars[1 if sep.length > 1 else 0]
        cdef int second = sep.length > 1
        # Only a doubled character can overlap itself among the first two characters; longer
        # separators are checked below, before overlaps are decided.
        cdef Py_ssize_t m = 2 if sep.length == 2 and c0 == c1 else 1
        cdef Py_ssize_t n = 0, got, start = a, stop = a
        cdef Py_ssize_t room = (b - a) // 32 + 128  # texts have fewer; more when needed
        cdef Py_ssize_t *out
        cuts.count = 0
        while True:
            out = offsets_reserve(cuts, room + 2) + 1
            if b - start >= NOGIL_CHARS:
                with nogil:
                    got = findall(self.kind, self.data, start, b, c0, c1, second, m,
                                  out + n, room - n, &stop)
            else:
                got = findall(self.kind, self.data, start, b, c0, c1, second, m, out + n,
                              room - n, &stop)
            n += got
            if stop >= b:
                break
            start, room = stop, 4 * room
        return self.checked(out, n, sep, b) if sep.length > 2 else n

    cdef Py_ssize_t checked(self, Py_ssize_t *at, Py_ssize_t n, const Separator *sep,
                            Py_ssize_t b) noexcept:
        """Keep the places in at[:n] where all of ``sep`` (3+ characters) occurs within b,
        each at least its length after the one kept before; returns how many."""
        cdef Py_ssize_t i, j, kept = 0, after = 0, p
        for i in range(n):
            p = at[i]
            if p < after or p + sep.length > b:
                continue
            j = 2
            while j < sep.length and PyUnicode_READ(self.kind, self.data, p + j) == sep.chars[j]:
                j += 1
            if j == sep.length:
                at[kept] = p
                kept += 1
                after = p + sep.length
        return kept

    cdef Py_ssize_t choose(self, Py_ssize_t a, Py_ssize_t b, Py_ssize_t first, Level *level,
                           Py_ssize_t *rest, Py_ssize_t *found) except -2:
        """The index of the first separator from ``first`` on found in text[a:b] ("" always
        matches); ``rest`` gets the index the next level starts from (nseps: none left) and
        ``found`` how many times the chosen one occurs there (found by ``find_all``, kept in
        the level; 0 for "" and when none occurs)."""
        cdef Py_ssize_t i
        found[0] = 0
        for i in range(first, self.nseps):
            if self.seps[i].length == 0:
                rest[0] = self.nseps
                return i
            found[0] = self.find_all(level, &self.seps[i], a, b)
            if found[0] > 0:
                rest[0] = i + 1
                return i
        rest[0] = self.nseps
        return self.nseps - 1

    cdef Py_ssize_t *cut(self, Py_ssize_t a, Py_ssize_t b, const Separator *sep, Py_ssize_t n,
                         Level *level, Py_ssize_t *count) except NULL:
        """Where the pieces of text[a:b] start, then b: cut before each of the ``n``
        occurrences ``choose`` found, empty pieces dropped; "" cuts between characters.
        ``count`` gets the number of offsets."""
        cdef Py_ssize_t i
        cdef Py_ssize_t *at
        if sep.length == 0:
            n = b - a - 1
            at = offsets_reserve(&level.cuts, n + 2)
            for i in range(1, n + 1):
                at[i] = a + i
        else:
            at = level.cuts.at  # the occurrences are at[1:n + 1]
        at[0] = a
        if n > 0 and at[1] == a:  # a separator right at the start: no empty first piece
            at += 1
            n -= 1
        at[n + 1] = b
        count[0] = n + 2
        return at

    cdef int split(self, Py_ssize_t a, Py_ssize_t b, Py_ssize_t first,
                   Py_ssize_t depth) except -1:
        cdef Py_ssize_t rest, found, count, i = 0
        cdef Level *level = &self.levels[depth]
        cdef Py_ssize_t chosen = self.choose(a, b, first, level, &rest, &found)
        cdef Py_ssize_t *at = self.cut(a, b, &self.seps[chosen], found, level, &count)
        while i < count - 1:  # piece i is text[at[i]:at[i + 1]]
            if at[i + 1] - at[i] < self.size:
                i = self.merge(at, i, count - 1)  # a run of pieces that fit
            elif rest < self.nseps:
                self.split(at[i], at[i + 1], rest, depth + 1)
                i += 1
            else:
                offsets_push2(&self.out, at[i], at[i + 1])  # too long, nothing to split by
                i += 1
        return 0

    cdef Py_ssize_t merge(self, const Py_ssize_t *at, Py_ssize_t i, Py_ssize_t last) except -1:
        """Pack the pieces from i on (text[at[i]:at[i + 1]] ..., piece i shorter than
        ``size``) into chunks of at most ``size``, carrying up to ``overlap`` into the next,
        until a piece too long or the end (at[last]); returns where the pieces stopped.

        A chunk runs from its first piece to the last cut within ``size``; the next one
        starts at the first cut that leaves at most ``overlap`` behind and lets the piece
        after the chunk fit: LangChain's piece-by-piece loop, taken a chunk at a time."""
        cdef Py_ssize_t j = i, limit, keep
        while True:
            limit = at[i] + self.size
            while j < last and at[j + 1] <= limit:
                j += 1
            self.emit(at[i], at[j])
            if j == last or at[j + 1] - at[j] >= self.size:
                return j
            keep = max(at[j] - self.overlap, at[j + 1] - self.size)
            while at[i] < keep:
                i += 1

    cdef int emit(self, Py_ssize_t a, Py_ssize_t b) except -1:
        """Record text[a:b] stripped of whitespace, if anything is left."""
        cdef const uint8_t *s1
        cdef const uint16_t *s2
        if self.kind == 1:  # one loop per width: no width test per character
            s1 = <const uint8_t *>self.data
            while a < b and Py_UNICODE_ISSPACE(s1[a]):
                a += 1
            while b > a and Py_UNICODE_ISSPACE(s1[b - 1]):
                b -= 1
        elif self.kind == 2:
            s2 = <const uint16_t *>self.data
            while a < b and Py_UNICODE_ISSPACE(s2[a]):
                a += 1
            while b > a and Py_UNICODE_ISSPACE(s2[b - 1]):
                b -= 1
        else:
            while a < b and Py_UNICODE_ISSPACE(PyUnicode_READ(4, self.data, a)):
                a += 1
            while b > a and Py_UNICODE_ISSPACE(PyUnicode_READ(4, self.data, b - 1)):
                b -= 1
        if a < b:
            offsets_push2(&self.out, a, b)
        return 0


cdef str slice_of(str text, Py_ssize_t a, Py_ssize_t b):
    """text[a:b] (0 <= a < b <= len(text)), copied without CPython's per-character loops."""
    cdef int kind = PyUnicode_KIND(text)
    cdef const uint8_t *s1
    cdef const uint16_t *s2
    cdef Py_ssize_t n = b - a
    cdef uint32_t bits
    cdef str out
    if kind == 1:
        s1 = <const uint8_t *>PyUnicode_DATA(text) + a
        bits = 0 if PyUnicode_IS_ASCII(text) else copy_ops.or_ucs1(s1, n)
        out = PyUnicode_New(n, 127 if bits < 128 else 255)
        memcpy(PyUnicode_DATA(out), s1, n)
    elif kind == 2:
        s2 = <const uint16_t *>PyUnicode_DATA(text) + a
        bits = copy_ops.or_ucs2(s2, n)
        if bits >= 256:
            out = PyUnicode_New(n, 0xFFFF)
            memcpy(PyUnicode_DATA(out), s2, 2 * n)
        else:
            out = PyUnicode_New(n, 127 if bits < 128 else 255)
            copy_ops.narrow_ucs2(s2, n, <uint8_t *>PyUnicode_DATA(out))
    else:
        out = PyUnicode_Substring(text, a, b)
    return out


cdef object make_chunk(str text, Py_ssize_t a, Py_ssize_t b, Py_ssize_t position,
                       dict template, object chunk_type):
    """chunk_type(text[a:b], metadata, a, b), the metadata a copy of ``template`` (whose keys
    already hold "position", "start" and "end", so the copy keeps its key order)."""
    cdef object start = a, end = b  # one int object each, shared by metadata and chunk
    cdef dict metadata = PyDict_Copy(template)
    metadata["position"] = position
    metadata["start"] = start
    metadata["end"] = end
    return chunk_type(slice_of(text, a, b), metadata, start, end)


def recursive_spans(str text, Py_ssize_t size, Py_ssize_t overlap, list separators):
    """(start, end) of each chunk of ``text`` (checked arguments: size > overlap >= 0, a
    non-empty list of str separators)."""
    return Splitter(size, overlap, separators).spans(text)


def recursive_texts(str text, Py_ssize_t size, Py_ssize_t overlap, list separators):
    """The text of each chunk of ``text`` (``recursive_spans``'s slices)."""
    return Splitter(size, overlap, separators).texts(text)


def recursive_chunks(str text, Py_ssize_t size, Py_ssize_t overlap, list separators,
                     dict template, object chunk_type):
    """``Splitter(size, overlap, separators).chunks(text, template, chunk_type)``."""
    return Splitter(size, overlap, separators).chunks(text, template, chunk_type)


def chunks_at(str text, list spans, dict template, object chunk_type):
    """``recursive_chunks``'s objects for spans found elsewhere ((start, end) pairs within
    the text, checked)."""
    cdef Py_ssize_t i, a, b, n = len(text)
    cdef list out = []
    for i in range(len(spans)):
        a, b = spans[i]
        if not 0 <= a <= b <= n:
            raise ValueError(f"span ({a}, {b}) is not within a text of {n} characters")
        out.append(make_chunk(text, a, b, i, template, chunk_type))
    return out
