# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Recursive text splitting on character offsets, and the chunk objects built from the offsets
(private; the public face is mastra.rag.RecursiveChunker).

The rules are LangChain's RecursiveCharacterTextSplitter with its defaults (separators kept at
the start of the piece they open, chunks stripped of whitespace), computed on spans of the
text: pieces are (start, end) pairs, a merged chunk is the span from its first piece's start
to its last piece's end. Separators are searched on the string's own storage
(native/include/mastra_textscan.h), the spans collect in a C buffer, and only the final
chunks become Python objects, built here in one loop."""

from libc.stdlib cimport free, malloc, realloc
from cpython.unicode cimport Py_UNICODE_ISSPACE
from cpython.dict cimport PyDict_Copy

cdef extern from "Python.h":
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    Py_UCS4 PyUnicode_READ(int kind, const void *data, Py_ssize_t index) nogil
    # CPython's own slice (an ASCII text's slices skip the widest-character scan)
    str PyUnicode_Substring(str text, Py_ssize_t start, Py_ssize_t end)


cdef struct Spans:
    Py_ssize_t *at   # pairs: at[2 * i] = start, at[2 * i + 1] = end
    Py_ssize_t count
    Py_ssize_t capacity


cdef int spans_push(Spans *s, Py_ssize_t a, Py_ssize_t b) except -1:
    cdef Py_ssize_t capacity
    cdef Py_ssize_t *grown
    if s.count == s.capacity:
        capacity = s.capacity * 2 if s.capacity else 64
        grown = <Py_ssize_t *>realloc(s.at, 2 * capacity * sizeof(Py_ssize_t))
        if grown == NULL:
            raise MemoryError()
        s.at, s.capacity = grown, capacity
    s.at[2 * s.count] = a
    s.at[2 * s.count + 1] = b
    s.count += 1
    return 0


cdef extern from "mastra_textscan.h":
    # The first i >= start where sep occurs inside text[start:end], or -1 (str.find's answer;
    # m >= 1 characters); kind and data are the str's storage.
    Py_ssize_t mastra_find(int kind, const void *data, Py_ssize_t start, Py_ssize_t end,
                           const Py_UCS4 *sep, Py_ssize_t m) nogil


cdef struct Separator:
    Py_UCS4 *chars
    Py_ssize_t length


cdef class _Split:
    """One text's split: the text, its settings and the chunk spans found so far."""

    cdef str text
    cdef Py_ssize_t size, overlap, nseps
    cdef int kind
    cdef const void *data
    cdef Separator *seps
    cdef Spans out

    def __cinit__(self, str text, Py_ssize_t size, Py_ssize_t overlap, list separators):
        cdef Py_ssize_t i, j, total = 0
        cdef str separator
        self.text, self.size, self.overlap = text, size, overlap
        self.kind = PyUnicode_KIND(text)
        self.data = PyUnicode_DATA(text)
        self.nseps = len(separators)
        for separator in separators:
            total += len(separator)
        # One block: the Separator table, then every separator's characters.
        self.seps = <Separator *>malloc(
            self.nseps * sizeof(Separator) + (total + 1) * sizeof(Py_UCS4))
        if self.seps == NULL:
            raise MemoryError()
        cdef Py_UCS4 *chars = <Py_UCS4 *>(self.seps + self.nseps)
        for i in range(self.nseps):
            separator = separators[i]
            self.seps[i].chars, self.seps[i].length = chars, len(separator)
            for j in range(len(separator)):
                chars[j] = separator[j]
            chars += len(separator)

    def __dealloc__(self):
        free(self.out.at)
        free(self.seps)

    cdef Py_ssize_t choose(self, Py_ssize_t a, Py_ssize_t b, Py_ssize_t first,
                           Py_ssize_t *rest, Py_ssize_t *found) noexcept:
        """The index of the first separator from ``first`` on found in text[a:b] ("" always
        matches); ``rest`` gets the index the next level starts from (nseps: none left) and
        ``found`` where the chosen separator first occurs (-1: nowhere, or "")."""
        cdef Py_ssize_t i, at
        found[0] = -1
        for i in range(first, self.nseps):
            if self.seps[i].length == 0:
                rest[0] = self.nseps
                return i
            at = mastra_find(self.kind, self.data, a, b, self.seps[i].chars, self.seps[i].length)
            if at >= 0:
                rest[0], found[0] = i + 1, at
                return i
        rest[0] = self.nseps
        return self.nseps - 1

    cdef int pieces(self, Py_ssize_t a, Py_ssize_t b, const Separator *sep, Py_ssize_t at,
                    Spans *into) except -1:
        """text[a:b] cut before each occurrence of ``sep`` (the first one at ``at``), empty
        pieces dropped; "" cuts between characters."""
        cdef Py_ssize_t step = sep.length, start = a, i
        if step == 0:
            for i in range(a, b):
                spans_push(into, i, i + 1)
            return 0
        while at >= 0:
            if at > start:
                spans_push(into, start, at)
            start = at
            at = mastra_find(self.kind, self.data, at + step, b, sep.chars, step)
        if b > start:
            spans_push(into, start, b)
        return 0

    cdef int split(self, Py_ssize_t a, Py_ssize_t b, Py_ssize_t first) except -1:
        cdef Py_ssize_t rest, found
        cdef Py_ssize_t chosen = self.choose(a, b, first, &rest, &found)
        cdef Py_ssize_t i, x, y, good = 0
        cdef Spans pieces
        pieces.at, pieces.count, pieces.capacity = NULL, 0, 0
        try:
            self.pieces(a, b, &self.seps[chosen], found, &pieces)
            for i in range(pieces.count):
                x, y = pieces.at[2 * i], pieces.at[2 * i + 1]
                if y - x < self.size:
                    continue  # a good piece: merged with its neighbours below
                if i > good:
                    self.merge(&pieces, good, i)
                good = i + 1
                if rest < self.nseps:
                    self.split(x, y, rest)
                else:
                    spans_push(&self.out, x, y)  # too long, nothing left to split by
            if pieces.count > good:
                self.merge(&pieces, good, pieces.count)
        finally:
            free(pieces.at)
        return 0

    cdef int merge(self, Spans *pieces, Py_ssize_t lo, Py_ssize_t hi) except -1:
        """Pack pieces[lo:hi] (consecutive, so their lengths add up to spans) into chunks of
        at most ``size``, carrying up to ``overlap`` into the next."""
        cdef Py_ssize_t *at = pieces.at
        cdef Py_ssize_t first = lo, total = 0, i, n
        for i in range(lo, hi):
            n = at[2 * i + 1] - at[2 * i]
            if total + n > self.size and i > first:
                self.emit(at[2 * first], at[2 * i - 1])
                while total > self.overlap or (total + n > self.size and total > 0):
                    total -= at[2 * first + 1] - at[2 * first]
                    first += 1
            total += n
        if first < hi:
            self.emit(at[2 * first], at[2 * hi - 1])
        return 0

    cdef int emit(self, Py_ssize_t a, Py_ssize_t b) except -1:
        while a < b and Py_UNICODE_ISSPACE(PyUnicode_READ(self.kind, self.data, a)):
            a += 1
        while b > a and Py_UNICODE_ISSPACE(PyUnicode_READ(self.kind, self.data, b - 1)):
            b -= 1
        if a < b:
            spans_push(&self.out, a, b)
        return 0


cdef _Split split_text(str text, Py_ssize_t size, Py_ssize_t overlap, list separators):
    if size <= 0 or overlap < 0 or overlap >= size or not separators:
        raise ValueError("recursive splitting needs size > overlap >= 0 and separators")
    for separator in separators:
        if not isinstance(separator, str):
            raise TypeError("separators must be str")
    cdef _Split state = _Split(text, size, overlap, separators)
    state.split(0, len(text), 0)
    return state


cdef object make_chunk(str text, Py_ssize_t a, Py_ssize_t b, Py_ssize_t position,
                       dict template, object chunk_type):
    """chunk_type(text[a:b], metadata, a, b), the metadata a copy of ``template`` (whose keys
    already hold "position", "start" and "end", so the copy keeps its key order)."""
    cdef dict metadata = PyDict_Copy(template)
    metadata["position"] = position
    metadata["start"] = a
    metadata["end"] = b
    return chunk_type(PyUnicode_Substring(text, a, b), metadata, a, b)


def recursive_spans(str text, Py_ssize_t size, Py_ssize_t overlap, list separators):
    """(start, end) of each chunk of ``text`` (checked arguments: size > overlap >= 0, a
    non-empty list of str separators)."""
    cdef _Split state = split_text(text, size, overlap, separators)
    cdef Py_ssize_t i
    return [(state.out.at[2 * i], state.out.at[2 * i + 1]) for i in range(state.out.count)]


def recursive_chunks(str text, Py_ssize_t size, Py_ssize_t overlap, list separators,
                     dict template, object chunk_type):
    """The chunks of ``text`` as ``chunk_type(text, metadata, start, end)`` objects; each
    metadata is a copy of ``template`` with its position, start and end filled in."""
    cdef _Split state = split_text(text, size, overlap, separators)
    cdef Py_ssize_t i
    cdef Py_ssize_t *at = state.out.at
    return [make_chunk(text, at[2 * i], at[2 * i + 1], i, template, chunk_type)
            for i in range(state.out.count)]


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
