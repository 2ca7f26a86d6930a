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
without it. Words repeat, so each distinct word of a call is hashed once: a table keyed by its
bytes keeps the columns of its "w:" feature and n-grams and the CRC register after "b:WORD ",
from which each pair's CRC only needs the next word's bytes."""

from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy
from libc.stdint cimport int32_t, uint8_t, uint32_t

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
    Py_ssize_t codes   # where its feature codes are in Cache.codes
    Py_ssize_t ncodes
    uint32_t pair      # the CRC register after "b:WORD "


cdef struct Slot:
    uint32_t hash
    Py_ssize_t key     # where its bytes are in Cache.keys (-1: the slot is free)
    Py_ssize_t length
    Py_ssize_t codes
    Py_ssize_t ncodes
    uint32_t pair


# The distinct words of one call. A feature code is its column + 1, negated for -1.
cdef struct Cache:
    Slot *slots
    Py_ssize_t capacity, used  # capacity: a power of two
    uint8_t *keys
    Py_ssize_t nkeys, keys_cap
    int32_t *codes
    Py_ssize_t ncodes, codes_cap


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


# For ASCII texts: each byte lower-cased when it is a word character (a-z 0-9 _), else 0.
cdef uint8_t ASCII_WORD[256]


cdef void fill_ascii_word() noexcept:
    cdef uint32_t ch
    for ch in range(256):
        ASCII_WORD[ch] = 0
        if ch < 128 and is_word(ch):
            ASCII_WORD[ch] = <uint8_t>(ch + 32 if 65 <= ch <= 90 else ch)


fill_ascii_word()


cdef bint add_word(Scratch *s, Py_ssize_t start, Py_ssize_t chars) noexcept nogil:
    """Record the word ``s.bytes[start:s.nbytes]`` of ``chars`` characters."""
    if not reserve(<void **>&s.words, &s.words_cap, s.nwords + 1, sizeof(Word)):
        return False
    s.words[s.nwords] = Word(start, s.nbytes - start, chars, 0, 0, 0)
    s.nwords += 1
    return True


cdef bint tokenize_ascii(const uint8_t *text, Py_ssize_t n, Scratch *s) noexcept nogil:
    """``tokenize`` for an ASCII text: one table look-up a byte."""
    cdef Py_ssize_t i = 0, start
    cdef uint8_t ch
    while i < n:
        if ASCII_WORD[text[i]] == 0:
            i += 1
            continue
        start = s.nbytes
        while i < n:
            ch = ASCII_WORD[text[i]]
            if ch == 0:
                break
            s.bytes[s.nbytes] = ch
            s.nbytes += 1
            i += 1
        if not add_word(s, start, s.nbytes - start):
            return False
    return True


cdef bint tokenize(const Text *text, Scratch *s) noexcept nogil:
    """The text's words, lower-cased, into ``s`` (False: out of memory)."""
    cdef Py_ssize_t i = 0, n = text.length, start, chars
    cdef uint32_t ch
    s.nbytes, s.nwords = 0, 0
    # UTF-8 takes at most 4 bytes a character (1 for ASCII)
    if not reserve(<void **>&s.bytes, &s.bytes_cap, n * (1 if text.ascii else 4), 1):
        return False
    if text.ascii:
        return tokenize_ascii(<const uint8_t *>text.data, n, s)
    while i < n:
        ch = PyUnicode_READ(text.kind, text.data, i)
        if not is_word(ch):
            i += 1
            continue
        start, chars = s.nbytes, 0
        while True:
            s.nbytes += put_utf8(s.bytes + s.nbytes, ch)
            chars += 1
            i += 1
            if i == n:
                break
            ch = PyUnicode_READ(text.kind, text.data, i)
            if not is_word(ch):
                break
        if not add_word(s, start, chars):
            return False
    return True


cdef inline int32_t code_of(const Columns *c, uint32_t state) noexcept nogil:
    """The feature whose CRC register is ``state``: its column + 1, negative for -1."""
    cdef uint32_t crc = mastra_crc32_final(state)
    cdef uint32_t column = crc & (c.dimension - 1) if c.power_of_two else crc % c.dimension
    # the top bit set: +1, else -1 (by arithmetic: a branch here would be a coin toss too)
    return (<int32_t>column + 1) * (<int32_t>(crc >> 31) * 2 - 1)


# A feature's sign is a coin toss that a branch would mispredict half the time: it is looked
# up instead (x + -1.0 is x - 1.0 exactly, so the counts do not change).
cdef float SIGN[2]
SIGN[0], SIGN[1] = 1.0, -1.0


cdef inline void apply(const Columns *c, int32_t code) noexcept nogil:
    cdef bint negative = code < 0
    c.row[(-code if negative else code) - 1] += SIGN[negative]


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


cdef bint grow_cache(Cache *cache) noexcept nogil:
    """Twice the slots, every word moved to its place (False: out of memory)."""
    cdef Py_ssize_t capacity = cache.capacity * 2 if cache.capacity else 1024, i, at
    cdef Slot *slots = <Slot *>malloc(<size_t>capacity * sizeof(Slot))
    if slots == NULL:
        return False
    for i in range(capacity):
        slots[i].key = -1
    for i in range(cache.capacity):
        if cache.slots[i].key >= 0:
            at = cache.slots[i].hash & (capacity - 1)
            while slots[at].key >= 0:
                at = (at + 1) & (capacity - 1)
            slots[at] = cache.slots[i]
    free(cache.slots)
    cache.slots, cache.capacity = slots, capacity
    return True


cdef Slot *learn(Cache *cache, Scratch *s, const Word *w, uint32_t word_state, const Columns *c,
                 const Py_ssize_t *ngrams, Py_ssize_t nngrams) noexcept nogil:
    """The word's slot, its features hashed the first time it is seen (NULL: out of
    memory)."""
    cdef const uint8_t *key = s.bytes + w.start
    cdef uint32_t hash = mastra_crc32_final(word_state)
    cdef Py_ssize_t at, g, j, n, last, needed
    cdef Slot *slot
    if (cache.used + 1) * 2 > cache.capacity and not grow_cache(cache):
        return NULL
    at = hash & (cache.capacity - 1)
    while cache.slots[at].key >= 0:
        slot = &cache.slots[at]
        if slot.hash == hash and slot.length == w.length and memcmp(
                cache.keys + slot.key, key, <size_t>w.length) == 0:
            return slot
        at = (at + 1) & (cache.capacity - 1)
    # A new word: its "w:" feature, then its n-grams in the Python definition's order.
    needed = 1
    for g in range(nngrams):
        if w.chars + 3 - ngrams[g] > 0:
            needed += w.chars + 3 - ngrams[g]
    if not (reserve(<void **>&cache.keys, &cache.keys_cap, cache.nkeys + w.length, 1)
            and reserve(<void **>&cache.codes, &cache.codes_cap, cache.ncodes + needed,
                        sizeof(int32_t))
            and mark(s, w)):
        return NULL
    slot = &cache.slots[at]
    slot.hash, slot.key, slot.length = hash, cache.nkeys, w.length
    memcpy(cache.keys + cache.nkeys, key, <size_t>w.length)
    cache.nkeys += w.length
    slot.codes, slot.ncodes = cache.ncodes, needed
    cache.codes[cache.ncodes] = code_of(c, word_state)
    cache.ncodes += 1
    for g in range(nngrams):
        n = ngrams[g]
        last = w.chars + 2 - n  # the last n-gram of "<WORD>" starts here
        for j in range(last + 1):
            cache.codes[cache.ncodes] = code_of(c, mastra_crc32_update(
                MASTRA_CRC32_START, s.marked + s.offsets[j],
                <size_t>(s.offsets[j + n] - s.offsets[j])))
            cache.ncodes += 1
    slot.pair = mastra_crc32_update(
        mastra_crc32_update(PAIR_STATE, key, <size_t>w.length), SPACE, 1)
    cache.used += 1
    return slot


cdef bint hash_text(const Text *text, Scratch *s, Cache *cache, const Columns *c,
                    const Py_ssize_t *ngrams, Py_ssize_t nngrams) noexcept nogil:
    """Add the text's feature counts to c.row, in the Python definition's order: words,
    pairs, then each word's n-grams (False: out of memory)."""
    cdef Py_ssize_t i, k
    cdef uint32_t state
    cdef Word *w
    cdef const Slot *slot
    if not tokenize(text, s):
        return False
    for i in range(s.nwords):
        w = &s.words[i]
        state = mastra_crc32_update(WORD_STATE, s.bytes + w.start, <size_t>w.length)
        slot = learn(cache, s, w, state, c, ngrams, nngrams)
        if slot == NULL:
            return False
        w.codes, w.ncodes, w.pair = slot.codes, slot.ncodes, slot.pair
        apply(c, cache.codes[w.codes])
    for i in range(1, s.nwords):
        w = &s.words[i]
        apply(c, code_of(c, mastra_crc32_update(
            s.words[i - 1].pair, s.bytes + w.start, <size_t>w.length)))
    for i in range(s.nwords):
        w = &s.words[i]
        for k in range(w.codes + 1, w.codes + w.ncodes):
            apply(c, cache.codes[k])
    return True


def hash_features(list texts, float[:, ::1] rows, tuple ngrams):
    """Add each text's signed feature counts to its row of ``rows`` (float32, one row a
    text, zeros to start from); ``ngrams`` are the n-gram lengths (positive ints)."""
    cdef Py_ssize_t count = len(texts), i, nngrams = len(ngrams)
    if rows.shape[0] != count or rows.shape[1] < 1:
        raise ValueError(f"rows must be ({count}, dimension), got {rows.shape[0]} rows")
    if rows.shape[1] > 0x7FFFFFFF:
        raise ValueError("dimension too large")
    cdef list kept = []  # the lower-cased texts, alive while their storage is read
    cdef Text *items = <Text *>malloc(<size_t>(count + 1) * sizeof(Text))
    cdef Py_ssize_t *lengths = <Py_ssize_t *>malloc(<size_t>(nngrams + 1) * sizeof(Py_ssize_t))
    cdef Scratch s
    cdef Cache cache
    cdef Columns c
    cdef bint ok = True
    s.bytes, s.words, s.marked, s.offsets = NULL, NULL, NULL, NULL
    s.bytes_cap = s.words_cap = s.marked_cap = s.offsets_cap = 0
    cache.slots, cache.keys, cache.codes = NULL, NULL, NULL
    cache.capacity = cache.used = cache.nkeys = cache.keys_cap = 0
    cache.ncodes = cache.codes_cap = 0
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
                if not hash_text(&items[i], &s, &cache, &c, lengths, nngrams):
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
        free(cache.slots)
        free(cache.keys)
        free(cache.codes)
