# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Feature hashing of texts (private; the public face is mastra.rag.HashingEmbedder).

The features are those of the Python definition kept in tests/rag as the oracle: the text
lower-cased (str.lower), its words (runs of alphanumeric characters and "_", what the regex
\\w+ finds), then "w:WORD" for each word, "b:WORD NEXT" for each pair of neighbours, and the
character n-grams of "<WORD>" for each n. A feature's UTF-8 bytes are hashed with zlib's
CRC-32 (native/include/mastra_crc32.h); the CRC picks the column (crc % dimension) and the
sign (top bit set: +1, else -1). Counts are added in float32 in the Python loop's order, so
the rows equal its rows bit for bit. Normalising is the caller's (NumPy's) job.

The texts are lower-cased with the GIL held (ASCII ones here, on the fly); hashing runs
without it."""

from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy
from libc.stdint cimport uint8_t, uint32_t

from mastra.errors import ValidationError

cdef extern from "Python.h":
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    bint PyUnicode_IS_ASCII(object)
    Py_UCS4 PyUnicode_READ(int kind, const void *data, Py_ssize_t index) nogil
    # what the regex \w matches besides "_" (tables of the Unicode database: no GIL needed)
    bint Py_UNICODE_ISALNUM(Py_UCS4 ch) nogil

cdef extern from "mastra_crc32.h":
    uint32_t MASTRA_CRC32_START
    void mastra_crc32_init()
    uint32_t mastra_crc32_update(uint32_t crc, const uint8_t *p, size_t n) nogil
    uint32_t mastra_crc32_final(uint32_t crc) nogil

mastra_crc32_init()
# The register after the prefixes every word and pair feature starts with.
cdef uint32_t WORD_STATE = mastra_crc32_update(MASTRA_CRC32_START, <const uint8_t *>b"w:", 2)
cdef uint32_t PAIR_STATE = mastra_crc32_update(MASTRA_CRC32_START, <const uint8_t *>b"b:", 2)
cdef const uint8_t *SPACE = <const uint8_t *>b" "


cdef struct Text:
    int kind
    const void *data
    Py_ssize_t length
    bint ascii  # lower-cased on the fly (the others went through str.lower)


cdef struct Word:
    Py_ssize_t start   # in Scratch.bytes
    Py_ssize_t length  # bytes
    Py_ssize_t chars   # characters


cdef struct Scratch:
    uint8_t *bytes    # one text's words in UTF-8, back to back
    Py_ssize_t nbytes, bytes_cap
    Word *words
    Py_ssize_t nwords, words_cap
    uint8_t *marked   # "<WORD>" in UTF-8
    Py_ssize_t marked_cap
    Py_ssize_t *offsets  # where each character of "<WORD>" starts, and its end
    Py_ssize_t offsets_cap


cdef struct Columns:
    float *row
    uint32_t dimension
    bint power_of_two


cdef bint reserve(void **buffer, Py_ssize_t *capacity, Py_ssize_t needed,
                  size_t item) noexcept nogil:
    """Room for ``needed`` items of ``item`` bytes (False: out of memory)."""
    cdef Py_ssize_t grown
    cdef void *moved
    if needed <= capacity[0]:
        return True
    grown = capacity[0] * 2 if capacity[0] else 256
    while grown < needed:
        grown *= 2
    moved = realloc(buffer[0], <size_t>grown * item)
    if moved == NULL:
        return False
    buffer[0], capacity[0] = moved, grown
    return True


cdef inline bint is_word(uint32_t ch) noexcept nogil:
    if ch < 128:
        return (ch >= 97 and ch <= 122) or (ch >= 48 and ch <= 57) or ch == 95 or (
            ch >= 65 and ch <= 90)
    return Py_UNICODE_ISALNUM(ch)


cdef inline Py_ssize_t put_utf8(uint8_t *out, uint32_t ch) noexcept nogil:
    """``ch`` in UTF-8 at ``out`` (never a surrogate: those are not word characters)."""
    if ch < 0x80:
        out[0] = <uint8_t>ch
        return 1
    if ch < 0x800:
        out[0] = <uint8_t>(0xC0 | (ch >> 6))
        out[1] = <uint8_t>(0x80 | (ch & 0x3F))
        return 2
    if ch < 0x10000:
        out[0] = <uint8_t>(0xE0 | (ch >> 12))
        out[1] = <uint8_t>(0x80 | ((ch >> 6) & 0x3F))
        out[2] = <uint8_t>(0x80 | (ch & 0x3F))
        return 3
    out[0] = <uint8_t>(0xF0 | (ch >> 18))
    out[1] = <uint8_t>(0x80 | ((ch >> 12) & 0x3F))
    out[2] = <uint8_t>(0x80 | ((ch >> 6) & 0x3F))
    out[3] = <uint8_t>(0x80 | (ch & 0x3F))
    return 4


cdef bint tokenize(const Text *text, Scratch *s) noexcept nogil:
    """The text's words, lower-cased, into ``s`` (False: out of memory)."""
    cdef Py_ssize_t i = 0, n = text.length, start, chars
    cdef uint32_t ch
    s.nbytes, s.nwords = 0, 0
    # UTF-8 takes at most 4 bytes a character (1 for ASCII)
    if not reserve(<void **>&s.bytes, &s.bytes_cap, n * (1 if text.ascii else 4), 1):
        return False
    while i < n:
        ch = PyUnicode_READ(text.kind, text.data, i)
        if not is_word(ch):
            i += 1
            continue
        start, chars = s.nbytes, 0
        while True:
            if text.ascii and ch >= 65 and ch <= 90:
                ch += 32
            s.nbytes += put_utf8(s.bytes + s.nbytes, ch)
            chars += 1
            i += 1
            if i == n:
                break
            ch = PyUnicode_READ(text.kind, text.data, i)
            if not is_word(ch):
                break
        if not reserve(<void **>&s.words, &s.words_cap, s.nwords + 1, sizeof(Word)):
            return False
        s.words[s.nwords] = Word(start, s.nbytes - start, chars)
        s.nwords += 1
    return True


cdef inline void add(const Columns *c, uint32_t state) noexcept nogil:
    cdef uint32_t crc = mastra_crc32_final(state)
    cdef uint32_t column = crc & (c.dimension - 1) if c.power_of_two else crc % c.dimension
    if crc & 0x80000000u:
        c.row[column] += 1.0
    else:
        c.row[column] -= 1.0


cdef bint mark(Scratch *s, const Word *w) noexcept nogil:
    """"<WORD>" into s.marked with its character offsets (False: out of memory)."""
    cdef Py_ssize_t i, k = 1, at
    cdef uint8_t lead
    if not (reserve(<void **>&s.marked, &s.marked_cap, w.length + 2, 1)
            and reserve(<void **>&s.offsets, &s.offsets_cap, w.length + 3, sizeof(Py_ssize_t))):
        return False
    s.marked[0] = 60  # "<"
    memcpy(s.marked + 1, s.bytes + w.start, <size_t>w.length)
    s.marked[w.length + 1] = 62  # ">"
    s.offsets[0] = 0
    if w.chars == w.length:  # ASCII: one byte a character
        for i in range(1, w.length + 3):
            s.offsets[i] = i
        return True
    at = 1
    while at < w.length + 1:
        s.offsets[k] = at
        k += 1
        lead = s.marked[at]
        at += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    s.offsets[k] = at            # ">"
    s.offsets[k + 1] = at + 1    # the end
    return True


cdef bint hash_text(const Text *text, Scratch *s, const Columns *c, const Py_ssize_t *ngrams,
                    Py_ssize_t nngrams) noexcept nogil:
    """Add the text's feature counts to c.row, in the Python definition's order: words,
    pairs, then each word's n-grams (False: out of memory)."""
    cdef Py_ssize_t i, j, g, n, last
    cdef const Word *w
    cdef uint32_t state
    if not tokenize(text, s):
        return False
    for i in range(s.nwords):
        w = &s.words[i]
        add(c, mastra_crc32_update(WORD_STATE, s.bytes + w.start, <size_t>w.length))
    for i in range(1, s.nwords):
        w = &s.words[i - 1]
        state = mastra_crc32_update(PAIR_STATE, s.bytes + w.start, <size_t>w.length)
        state = mastra_crc32_update(state, SPACE, 1)
        w = &s.words[i]
        add(c, mastra_crc32_update(state, s.bytes + w.start, <size_t>w.length))
    for i in range(s.nwords):
        w = &s.words[i]
        if not mark(s, w):
            return False
        for g in range(nngrams):
            n = ngrams[g]
            last = w.chars + 2 - n  # the last n-gram of "<WORD>" starts here
            for j in range(last + 1):
                add(c, mastra_crc32_update(
                    MASTRA_CRC32_START, s.marked + s.offsets[j],
                    <size_t>(s.offsets[j + n] - s.offsets[j])))
    return True


def hash_features(list texts, float[:, ::1] rows, tuple ngrams):
    """Add each text's signed feature counts to its row of ``rows`` (float32, one row a
    text, zeros to start from); ``ngrams`` are the n-gram lengths (positive ints)."""
    cdef Py_ssize_t count = len(texts), i, nngrams = len(ngrams)
    if rows.shape[0] != count or rows.shape[1] < 1:
        raise ValueError(f"rows must be ({count}, dimension), got {rows.shape[0]} rows")
    if rows.shape[1] > 0xFFFFFFFF:
        raise ValueError("dimension too large")
    cdef list kept = []  # the lower-cased texts, alive while their storage is read
    cdef Text *items = <Text *>malloc(<size_t>(count + 1) * sizeof(Text))
    cdef Py_ssize_t *lengths = <Py_ssize_t *>malloc(<size_t>(nngrams + 1) * sizeof(Py_ssize_t))
    cdef Scratch s
    cdef Columns c
    cdef bint ok = True
    s.bytes, s.words, s.marked, s.offsets = NULL, NULL, NULL, NULL
    s.bytes_cap = s.words_cap = s.marked_cap = s.offsets_cap = 0
    c.dimension = <uint32_t>rows.shape[1]
    c.power_of_two = (c.dimension & (c.dimension - 1)) == 0
    try:
        if items == NULL or lengths == NULL:
            raise MemoryError()
        for i in range(nngrams):
            lengths[i] = ngrams[i]
            if lengths[i] < 1:
                raise ValueError(f"n-gram lengths must be positive, got {lengths[i]}")
        for i in range(count):
            text = texts[i]
            if not isinstance(text, str):
                raise ValidationError(
                    f"texts must be str; texts[{i}] is {type(text).__name__}")
            items[i].ascii = PyUnicode_IS_ASCII(text)
            if not items[i].ascii:
                text = text.lower()
                kept.append(text)
            items[i].kind = PyUnicode_KIND(text)
            items[i].data = PyUnicode_DATA(text)
            items[i].length = len(text)
        with nogil:
            for i in range(count):
                c.row = &rows[i, 0]
                if not hash_text(&items[i], &s, &c, lengths, nngrams):
                    ok = False
                    break
        if not ok:
            raise MemoryError()
    finally:
        free(items)
        free(lengths)
        free(s.bytes)
        free(s.words)
        free(s.marked)
        free(s.offsets)
