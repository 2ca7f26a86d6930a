/* Searching a separator in a str's own storage (1, 2 or 4 bytes a character), for the
 * recursive splitter (native/_chunk.pyx).
 *
 * The scan tests 32 positions at a time with no early exit inside a block: compilers turn
 * that into vector compares at the baseline of every target (SSE2, NEON), so a two-character
 * separator such as "\n\n" is found without stopping at every "\n" as a memchr loop would.
 * Plain C, no intrinsics: the same code everywhere. */
#ifndef MASTRA_TEXTSCAN_H
#define MASTRA_TEXTSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MASTRA_SCAN_BLOCK 32

/* mastra_find_<kind>(s, from, end, sep, m): the first i >= from with s[i:i + m] == sep and
 * i + m <= end, or -1; sep has m >= 1 characters (as uint32_t). */
#define MASTRA_DEFINE_FIND(NAME, T, TMAX)                                                     \
    static inline ptrdiff_t NAME(const T *s, ptrdiff_t i, ptrdiff_t end, const uint32_t *sep, \
                                 ptrdiff_t m) {                                               \
        const ptrdiff_t last = end - m; /* the last place a match may start */               \
        const ptrdiff_t second = m > 1 ? 1 : 0;                                               \
        if (sep[0] > TMAX || sep[second] > TMAX)                                              \
            return -1; /* a character this text cannot hold */                               \
        const T c0 = (T)sep[0], c1 = (T)sep[second];                                          \
        while (i <= last) {                                                                   \
            while (i + MASTRA_SCAN_BLOCK <= last) { /* whole blocks: any candidate in it? */ \
                T any = 0; /* in the text's own width: the widest vectors */                 \
                for (int k = 0; k < MASTRA_SCAN_BLOCK; k++)                                   \
                    any |= (T)((s[i + k] == c0) & (s[i + k + second] == c1));                 \
                if (any)                                                                      \
                    break;                                                                    \
                i += MASTRA_SCAN_BLOCK;                                                       \
            }                                                                                 \
            const ptrdiff_t stop = i + MASTRA_SCAN_BLOCK <= last ? i + MASTRA_SCAN_BLOCK      \
                                                                 : last + 1;                  \
            for (; i < stop; i++) {                                                           \
                if (s[i] != c0 || s[i + second] != c1)                                        \
                    continue;                                                                 \
                ptrdiff_t j = 2;                                                              \
                while (j < m && s[i + j] == sep[j])                                           \
                    j++;                                                                      \
                if (j >= m)                                                                   \
                    return i;                                                                 \
            }                                                                                 \
        }                                                                                     \
        return -1;                                                                            \
    }

MASTRA_DEFINE_FIND(mastra_find_ucs1, uint8_t, 0xFFu)
MASTRA_DEFINE_FIND(mastra_find_ucs2, uint16_t, 0xFFFFu)
MASTRA_DEFINE_FIND(mastra_find_ucs4, uint32_t, 0xFFFFFFFFu)

/* One character in a one-byte text: memchr is the fastest scan there is. */
static inline ptrdiff_t mastra_find_byte(const uint8_t *s, ptrdiff_t i, ptrdiff_t end,
                                         uint32_t c) {
    if (c > 0xFF || i >= end)
        return -1;
    const uint8_t *hit = (const uint8_t *)memchr(s + i, (int)c, (size_t)(end - i));
    return hit == NULL ? -1 : hit - s;
}

/* The search for any kind (1, 2 or 4 bytes a character). */
static inline ptrdiff_t mastra_find(int kind, const void *data, ptrdiff_t from, ptrdiff_t end,
                                    const uint32_t *sep, ptrdiff_t m) {
    if (m < 1 || end - from < m)
        return -1;
    if (kind == 1) {
        if (m == 1)
            return mastra_find_byte((const uint8_t *)data, from, end, sep[0]);
        return mastra_find_ucs1((const uint8_t *)data, from, end, sep, m);
    }
    if (kind == 2)
        return mastra_find_ucs2((const uint16_t *)data, from, end, sep, m);
    return mastra_find_ucs4((const uint32_t *)data, from, end, sep, m);
}

#endif
