/* CRC-32 as zlib computes it (IEEE 802.3, reflected polynomial 0xEDB88320), table driven,
 * four bytes a step ("slicing by 4"). The feature hashing embedder (native/_hash_embed.pyx)
 * hashes millions of short strings with it and must give zlib.crc32's values.
 *
 * The state passed around is the raw register: start from MASTRA_CRC32_START, feed bytes
 * with mastra_crc32_update (any number of calls), and the CRC is the state ^ 0xFFFFFFFF
 * (mastra_crc32_final). Bytes are combined one by one, so the result does not depend on the
 * machine's byte order. */
#ifndef MASTRA_CRC32_H
#define MASTRA_CRC32_H

#include <stddef.h>
#include <stdint.h>

#define MASTRA_CRC32_START 0xFFFFFFFFu

static uint32_t mastra_crc32_table[4][256];

/* Fill the tables; once, before any update (module import does it). */
static void mastra_crc32_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        mastra_crc32_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 4; t++) {
            uint32_t c = mastra_crc32_table[t - 1][i];
            mastra_crc32_table[t][i] = (c >> 8) ^ mastra_crc32_table[0][c & 0xFFu];
        }
}

static inline uint32_t mastra_crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    const uint32_t(*t)[256] = (const uint32_t(*)[256])mastra_crc32_table;
    while (n >= 4) {
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        crc = t[3][crc & 0xFFu] ^ t[2][(crc >> 8) & 0xFFu] ^ t[1][(crc >> 16) & 0xFFu] ^
              t[0][crc >> 24];
        p += 4;
        n -= 4;
    }
    while (n--)
        crc = t[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return crc;
}

static inline uint32_t mastra_crc32_final(uint32_t crc) { return crc ^ 0xFFFFFFFFu; }

#endif
