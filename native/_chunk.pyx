# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Recursive text splitting on character offsets (private; the public face is
mastra.rag.RecursiveChunker).

The rules are LangChain's RecursiveCharacterTextSplitter with its defaults (separators kept at
the start of the piece they open, chunks stripped of whitespace), computed on spans of the
text: pieces are (start, end) pairs, a merged chunk is the span from its first piece's start
to its last piece's end, and only the final chunks become strings (in the caller)."""

from libc.stdlib cimport free, malloc, realloc
from cpython.unicode cimport PyUnicode_Find, Py_UNICODE_ISSPACE

cdef extern from "Python.h":
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    Py_UCS4 PyUnicode_READ(int kind, void *data, Py_ssize_t index) nogil


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


cdef class _Split:
    """One text's split: the text, its settings and the chunks found so far."""

    cdef str text
    cdef list separators
    cdef Py_ssize_t size, overlap
    cdef int kind
    cdef void *data
    cdef Spans out

    def __cinit__(self, str text, Py_ssize_t size, Py_ssize_t overlap, list separators):
        self.text, self.size, self.overlap, self.separators = text, size, overlap, separators
        self.kind = PyUnicode_KIND(text)
        self.data = PyUnicode_DATA(text)

    def __dealloc__(self):
        free(self.out.at)

    cdef Py_ssize_t choose(self, Py_ssize_t a, Py_ssize_t b, Py_ssize_t first,
                           Py_ssize_t *rest) except -2:
        """The index of the first separator from ``first`` on found in text[a:b] ("" always
        matches); ``rest`` gets the index the next level starts from (len: none left)."""
        cdef Py_ssize_t n = len(self.separators), i
        cdef str separator
        for i in range(first, n):
            separator = self.separators[i]
            if len(separator) == 0:
                rest[0] = n
                return i
            if PyUnicode_Find(self.text, separator, a, b, 1) >= 0:
                rest[0] = i + 1
                return i
        rest[0] = n
        return n - 1

    cdef int pieces(self, Py_ssize_t a, Py_ssize_t b, str separator, Spans *into) except -1:
        cdef Py_ssize_t step = len(separator), start = a, at, i
        if step == 0:
            for i in range(a, b):
                spans_push(into, i, i + 1)
            return 0
        at = PyUnicode_Find(self.text, separator, a, b, 1)
        while at >= 0:
            if at > start:
                spans_push(into, start, at)
            start = at
            at = PyUnicode_Find(self.text, separator, at + step, b, 1) if at + step < b else -1
        if b > start:
            spans_push(into, start, b)
        return 0

    cdef int split(self, Py_ssize_t a, Py_ssize_t b, Py_ssize_t first) except -1:
        cdef Py_ssize_t rest, chosen = self.choose(a, b, first, &rest)
        cdef Py_ssize_t n = len(self.separators), i, x, y, good = 0
        cdef Spans pieces
        pieces.at, pieces.count, pieces.capacity = NULL, 0, 0
        try:
            self.pieces(a, b, self.separators[chosen], &pieces)
            for i in range(pieces.count):
                x, y = pieces.at[2 * i], pieces.at[2 * i + 1]
                if y - x < self.size:
                    continue  # a good piece: merged with its neighbours below
                if i > good:
                    self.merge(&pieces, good, i)
                good = i + 1
                if rest < n:
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


def recursive_spans(str text, Py_ssize_t size, Py_ssize_t overlap, list separators):
    """(start, end) of each chunk of ``text`` (checked arguments: size > overlap >= 0, a
    non-empty list of str separators)."""
    if size <= 0 or overlap < 0 or overlap >= size or not separators:
        raise ValueError("recursive_spans needs size > overlap >= 0 and separators")
    for separator in separators:
        if not isinstance(separator, str):
            raise TypeError("separators must be str")
    cdef _Split state = _Split(text, size, overlap, separators)
    state.split(0, len(text), 0)
    cdef Py_ssize_t i
    return [(state.out.at[2 * i], state.out.at[2 * i + 1]) for i in range(state.out.count)]
