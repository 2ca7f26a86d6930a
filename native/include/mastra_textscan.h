/* Where separators occur in a str's own storage (1, 2 or 4 bytes a character), for the
 * recursive splitter (native/_chunk.pyx).
 *
 * One pass over a range finds every occurrence of a separator's first two characters: 64
 * positions are compared into a 64-bit word, whose set bits become positions without a branch
 * per bit. Most separators are one or two characters ("\n\n", "\n", " "), so these are the
 * occurrences themselves; the splitter checks the other characters of longer ones.
 *
 * The portable loop is plain C. On x86-64 an AVX2 variant (GCC/clang target attribute, no
 * global flags) compares 32 characters at a time and packs the results with movemask; the
 * module picks it at import through mastra_simd_level() (MASTRA_SIMD=scalar: the plain one). */
#ifndef MASTRA_TEXTSCAN_H
#define MASTRA_TEXTSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "mastra_cpu.h"

#if defined(MASTRA_MSVC)
#include <intrin.h>
static inline int mastra_ctz64(uint64_t x) {
    unsigned long i;
    _BitScanForward64(&i, x);
    return (int)i;
}
static inline int mastra_high64(uint64_t x) {
    unsigned long i;
    _BitScanReverse64(&i, x);
    return (int)i;
}
#else
/* The lowest and the highest set bit of x (x != 0). */
static inline int mastra_ctz64(uint64_t x) { return __builtin_ctzll(x); }
static inline int mastra_high64(uint64_t x) { return 63 - __builtin_clzll(x); }
#endif

/* mastra_findall_fn(kind, data, a, b, c0, c1, second, m, out, room, &stop): the positions p
 * in [a, b) where s[p] == c0 and s[p + second] == c1 (p + second < b; second is 0 or 1), left
 * to right, written to out; m = 2 (for c0 == c1 and second = 1 only) keeps each at least 2
 * after the one kept before it (so that "\n\n" occurs once in "\n\n\n"), m = 1 keeps all. Returns how many; stop is b when the whole range
 * was seen, else the place to go on from after the caller made room (out had room places). */
typedef ptrdiff_t (*mastra_findall_fn)(int kind, const void *data, ptrdiff_t a, ptrdiff_t b,
                                       uint32_t c0, uint32_t c1, int second, ptrdiff_t m,
                                       ptrdiff_t *out, ptrdiff_t room, ptrdiff_t *stop);

/* The set bits k of word as positions base + k appended to out[n], those closer than m to the
 * last kept one (*next) skipped, one at a time: the rare word where a separator's occurrences
 * overlap ("\n\n" in "\n\n\n"). */
static ptrdiff_t mastra_take_overlapping(uint64_t word, ptrdiff_t base, ptrdiff_t m,
                                         ptrdiff_t *next, ptrdiff_t *out, ptrdiff_t n) {
    for (; word; word &= word - 1) {
        const ptrdiff_t p = base + mastra_ctz64(word);
        if (p >= *next) {
            out[n++] = p;
            *next = p + m;
        }
    }
    return n;
}

/* The set bits k of word as positions base + k appended to out[n]; returns the new n. m is 1
 * for separators whose occurrences cannot overlap (one character, or two different ones:
 * every bit is kept), 2 for a doubled character such as "\n\n", whose occurrences are each at
 * least 2 after the last one kept (*next). Two bits are taken without a branch, then any
 * more (most words hold none, one or two): a branch per bit, or a chain through *next, would
 * cost more than the scan itself on sparse separators. Writes at most 65 places. */
static inline ptrdiff_t mastra_take(uint64_t word, ptrdiff_t base, ptrdiff_t m, ptrdiff_t *next,
                                    ptrdiff_t *out, ptrdiff_t n) {
    if (m > 1) {
        /* bit 0 goes when the last one kept was at base - 1 (it reaches base) */
        const uint64_t reached = *next > base ? 1u : 0u;
        word &= ~reached;
        if (word & (word >> 1))
            return mastra_take_overlapping(word, base, m, next, out, n);
        const ptrdiff_t after = base + mastra_high64(word | 1) + m;
        *next = word ? after : *next;
    }
    for (int k = 0; k < 2; k++) {
        /* an empty word reads as bit 63 and is not kept */
        out[n] = base + mastra_ctz64(word | (uint64_t)1 << 63);
        n += word != 0;
        word &= word - 1;
    }
    for (; word; word &= word - 1)
        out[n++] = base + mastra_ctz64(word);
    return n;
}

/* The plain C scan of one width, from i on, 64 positions a step; n and next carry on from a
 * SIMD variant that did the start. */
#define MASTRA_DEFINE_FINDALL(NAME, T, TMAX)                                                  \
    static ptrdiff_t NAME(const T *s, ptrdiff_t i, ptrdiff_t b, uint32_t c0, uint32_t c1,     \
                          int second, ptrdiff_t m, ptrdiff_t *out, ptrdiff_t room,            \
                          ptrdiff_t n, ptrdiff_t next, ptrdiff_t *stop) {                     \
        const ptrdiff_t last = b - 1 - second; /* the last place a match may start */        \
        *stop = b;                                                                            \
        if (c0 > TMAX || c1 > TMAX)                                                           \
            return n; /* characters this text cannot hold */                                 \
        const T x0 = (T)c0, x1 = (T)c1;                                                       \
        for (; i <= last; i += 64) {                                                          \
            if (n + 65 > room) {                                                              \
                *stop = i > next ? i : next;                                                  \
                return n;                                                                     \
            }                                                                                 \
            const ptrdiff_t count = last - i + 1 < 64 ? last - i + 1 : 64;                   \
            uint64_t word = 0;                                                                \
            for (ptrdiff_t k = 0; k < count; k++)                                             \
                word |= (uint64_t)((s[i + k] == x0) & (s[i + k + second] == x1)) << k;       \
            n = mastra_take(word, i, m, &next, out, n);                                       \
        }                                                                                     \
        return n;                                                                             \
    }

MASTRA_DEFINE_FINDALL(mastra_findall_ucs1, uint8_t, 0xFFu)
MASTRA_DEFINE_FINDALL(mastra_findall_ucs2, uint16_t, 0xFFFFu)
MASTRA_DEFINE_FINDALL(mastra_findall_ucs4, uint32_t, 0xFFFFFFFFu)

/* The plain C scan of any width from i on (the SIMD variant finishes its tail with it). */
static ptrdiff_t mastra_findall_from(int kind, const void *data, ptrdiff_t i, ptrdiff_t b,
                                     uint32_t c0, uint32_t c1, int second, ptrdiff_t m,
                                     ptrdiff_t *out, ptrdiff_t room, ptrdiff_t n, ptrdiff_t next,
                                     ptrdiff_t *stop) {
    if (kind == 1)
        return mastra_findall_ucs1((const uint8_t *)data, i, b, c0, c1, second, m, out, room, n,
                                   next, stop);
    if (kind == 2)
        return mastra_findall_ucs2((const uint16_t *)data, i, b, c0, c1, second, m, out, room,
                                   n, next, stop);
    return mastra_findall_ucs4((const uint32_t *)data, i, b, c0, c1, second, m, out, room, n,
                               next, stop);
}

static ptrdiff_t mastra_findall_scalar(int kind, const void *data, ptrdiff_t a, ptrdiff_t b,
                                       uint32_t c0, uint32_t c1, int second, ptrdiff_t m,
                                       ptrdiff_t *out, ptrdiff_t room, ptrdiff_t *stop) {
    return mastra_findall_from(kind, data, a, b, c0, c1, second, m, out, room, 0, a, stop);
}

#if defined(MASTRA_X86) && !defined(MASTRA_MSVC)
#include <immintrin.h>
#define MASTRA_HAVE_FINDALL_AVX2 1

/* 32 one-byte characters at p (and at p + second) against c0 and c1: one bit each. */
__attribute__((target("avx2"))) static inline uint32_t
mastra_match32_ucs1(const uint8_t *p, int second, __m256i v0, __m256i v1) {
    __m256i e0 = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), v0);
    __m256i e1 = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + second)), v1);
    return (uint32_t)_mm256_movemask_epi8(_mm256_and_si256(e0, e1));
}

/* 32 two-byte characters: two 16-lane compares packed to bytes (packs works per 128-bit
 * lane, the permute puts the quarters back in order). */
__attribute__((target("avx2"))) static inline uint32_t
mastra_match32_ucs2(const uint16_t *p, int second, __m256i v0, __m256i v1) {
    __m256i lo = _mm256_and_si256(
        _mm256_cmpeq_epi16(_mm256_loadu_si256((const __m256i *)p), v0),
        _mm256_cmpeq_epi16(_mm256_loadu_si256((const __m256i *)(p + second)), v1));
    __m256i hi = _mm256_and_si256(
        _mm256_cmpeq_epi16(_mm256_loadu_si256((const __m256i *)(p + 16)), v0),
        _mm256_cmpeq_epi16(_mm256_loadu_si256((const __m256i *)(p + 16 + second)), v1));
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi16(lo, hi), 0xD8);
    return (uint32_t)_mm256_movemask_epi8(packed);
}

/* Blocks of up to 64 words of 64 positions while every read (up to i + 63 + second of a word)
 * stays below b: the words are compared first, with a bit per word that has a match, then only
 * those words are taken; a test of each word would be mispredicted at every word with a match
 * when the separator is sparse ("\n\n"). Then plain C. */
#define MASTRA_FINDALL_AVX2_BLOCKS(T, MATCH)                                                  \
    for (;;) {                                                                                \
        ptrdiff_t count = (b - second - i) / 64;                                              \
        if (count <= 0)                                                                       \
            break;                                                                            \
        count = count < 64 ? count : 64;                                                      \
        uint64_t any = 0;                                                                     \
        ptrdiff_t found = 0;                                                                  \
        for (ptrdiff_t w = 0; w < count; w++) {                                               \
            const T *p = (const T *)data + i + 64 * w;                                        \
            const uint64_t word = (uint64_t)MATCH(p, second, v0, v1) |                       \
                                  (uint64_t)MATCH(p + 32, second, v0, v1) << 32;              \
            words[w] = word;                                                                  \
            any |= (uint64_t)(word != 0) << w;                                                \
            found += (ptrdiff_t)_mm_popcnt_u64(word);                                         \
        }                                                                                     \
        if (n + found + 2 > room) {                                                           \
            *stop = i > next ? i : next;                                                      \
            return n;                                                                         \
        }                                                                                     \
        for (; any; any &= any - 1) {                                                         \
            const ptrdiff_t w = mastra_ctz64(any);                                            \
            n = mastra_take(words[w], i + 64 * w, m, &next, out, n);                          \
        }                                                                                     \
        i += 64 * count;                                                                      \
    }

__attribute__((target("avx2,popcnt"))) static ptrdiff_t
mastra_findall_avx2(int kind, const void *data, ptrdiff_t a, ptrdiff_t b, uint32_t c0,
                    uint32_t c1, int second, ptrdiff_t m, ptrdiff_t *out, ptrdiff_t room,
                    ptrdiff_t *stop) {
    ptrdiff_t i = a, n = 0, next = a;
    uint64_t words[64];
    if (kind == 1 && c0 <= 0xFFu && c1 <= 0xFFu) {
        const __m256i v0 = _mm256_set1_epi8((char)c0), v1 = _mm256_set1_epi8((char)c1);
        MASTRA_FINDALL_AVX2_BLOCKS(uint8_t, mastra_match32_ucs1)
    } else if (kind == 2 && c0 <= 0xFFFFu && c1 <= 0xFFFFu) {
        const __m256i v0 = _mm256_set1_epi16((short)c0), v1 = _mm256_set1_epi16((short)c1);
        MASTRA_FINDALL_AVX2_BLOCKS(uint16_t, mastra_match32_ucs2)
    }
    return mastra_findall_from(kind, data, i, b, c0, c1, second, m, out, room, n, next, stop);
}
#endif

/* The scan for a SIMD level (mastra_cpu.h): AVX2 where built and allowed, else plain C. */
static mastra_findall_fn mastra_findall_for(int level) {
    (void)level; /* one variant only, where AVX2 is not built */
#if defined(MASTRA_HAVE_FINDALL_AVX2)
    if (level >= MASTRA_SIMD_AVX2)
        return mastra_findall_avx2;
#endif
    return mastra_findall_scalar;
}

/* The name of the variant mastra_findall_for(level) picks. */
static const char *mastra_findall_name(int level) {
    return mastra_findall_for(level) == mastra_findall_scalar ? "scalar" : "avx2";
}

/* Copying a chunk out of the text as a new str: the widest character decides the copy's width
 * (CPython's strs are always as narrow as their characters allow), and the OR of all the
 * characters tells whether it is below 128 or 256 just as well as their maximum does. Plain
 * loops the compiler vectorizes, once for the baseline and once for AVX2 (twice as wide). */
typedef struct {
    uint32_t (*or_ucs1)(const uint8_t *s, ptrdiff_t n);
    uint32_t (*or_ucs2)(const uint16_t *s, ptrdiff_t n);
    /* two-byte characters all below 256 into one byte each */
    void (*narrow_ucs2)(const uint16_t *s, ptrdiff_t n, uint8_t *out);
} mastra_copy_ops;

#define MASTRA_DEFINE_COPY_OPS(NAME, ATTR)                                                    \
    ATTR static uint32_t NAME##_or_ucs1(const uint8_t *s, ptrdiff_t n) {                      \
        uint8_t bits = 0;                                                                     \
        for (ptrdiff_t i = 0; i < n; i++)                                                     \
            bits |= s[i];                                                                     \
        return bits;                                                                          \
    }                                                                                         \
    ATTR static uint32_t NAME##_or_ucs2(const uint16_t *s, ptrdiff_t n) {                     \
        uint16_t bits = 0;                                                                    \
        for (ptrdiff_t i = 0; i < n; i++)                                                     \
            bits |= s[i];                                                                     \
        return bits;                                                                          \
    }                                                                                         \
    ATTR static void NAME##_narrow_ucs2(const uint16_t *s, ptrdiff_t n, uint8_t *out) {       \
        for (ptrdiff_t i = 0; i < n; i++)                                                     \
            out[i] = (uint8_t)s[i];                                                           \
    }                                                                                         \
    static const mastra_copy_ops NAME = {NAME##_or_ucs1, NAME##_or_ucs2, NAME##_narrow_ucs2};

MASTRA_DEFINE_COPY_OPS(mastra_copy_scalar, )
#if defined(MASTRA_HAVE_FINDALL_AVX2)
MASTRA_DEFINE_COPY_OPS(mastra_copy_avx2, __attribute__((target("avx2"))))
#endif

/* The copy loops for a SIMD level, as mastra_findall_for picks the scan. */
static mastra_copy_ops mastra_copy_for(int level) {
    (void)level;
#if defined(MASTRA_HAVE_FINDALL_AVX2)
    if (level >= MASTRA_SIMD_AVX2)
        return mastra_copy_avx2;
#endif
    return mastra_copy_scalar;
}

#endif
