/* Run-time CPU feature detection shared by every kernel module.
 *
 * Wheels are built without -march flags; each kernel compiles one variant per SIMD level
 * (with __attribute__((target(...)))) and picks one at import through mastra_simd_level().
 * The environment variable MASTRA_SIMD (scalar | neon | avx2 | avx512) lowers the level, so
 * tests can run every variant on one machine; it never raises it above what the CPU has.
 */
#ifndef MASTRA_CPU_H
#define MASTRA_CPU_H

#include <stdlib.h>
#include <string.h>

enum {
    MASTRA_SIMD_SCALAR = 0,
    MASTRA_SIMD_NEON = 1,
    MASTRA_SIMD_AVX2 = 2,   /* AVX2 + FMA + F16C */
    MASTRA_SIMD_AVX512 = 3  /* AVX-512 F/BW/DQ/VL */
};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MASTRA_X86 1
#endif
#if defined(__aarch64__)
#define MASTRA_ARM64 1
#endif

static const char *mastra_simd_name(int level) {
    switch (level) {
    case MASTRA_SIMD_NEON: return "neon";
    case MASTRA_SIMD_AVX2: return "avx2";
    case MASTRA_SIMD_AVX512: return "avx512";
    default: return "scalar";
    }
}

/* Parse a level name; -1 when the name is unknown. */
static int mastra_simd_from_name(const char *name) {
    static const char *names[] = {"scalar", "neon", "avx2", "avx512"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) return i;
    }
    return -1;
}

/* 1 when the CPU (and the OS, for the wide registers) supports the named feature. */
static int mastra_cpu_has(const char *feature) {
#if defined(MASTRA_X86)
    __builtin_cpu_init();
    /* __builtin_cpu_supports needs a literal, hence the table. */
#define MASTRA_FEATURE(lit) if (strcmp(feature, lit) == 0) return __builtin_cpu_supports(lit) != 0;
    MASTRA_FEATURE("sse4.2") MASTRA_FEATURE("avx") MASTRA_FEATURE("avx2") MASTRA_FEATURE("fma")
    MASTRA_FEATURE("avx512f") MASTRA_FEATURE("avx512bw") MASTRA_FEATURE("avx512dq")
    MASTRA_FEATURE("avx512vl") MASTRA_FEATURE("avx512vnni")
#undef MASTRA_FEATURE
    /* F16C has no __builtin_cpu_supports name on older GCC; AVX2 CPUs all have it. */
    if (strcmp(feature, "f16c") == 0) return __builtin_cpu_supports("avx2") != 0;
    return 0;
#elif defined(MASTRA_ARM64)
    return strcmp(feature, "neon") == 0;
#else
    return 0;
#endif
}

/* The best level this CPU supports, ignoring MASTRA_SIMD. */
static int mastra_simd_detected(void) {
#if defined(MASTRA_X86)
    if (mastra_cpu_has("avx512f") && mastra_cpu_has("avx512bw") && mastra_cpu_has("avx512dq") &&
        mastra_cpu_has("avx512vl"))
        return MASTRA_SIMD_AVX512;
    if (mastra_cpu_has("avx2") && mastra_cpu_has("fma")) return MASTRA_SIMD_AVX2;
    return MASTRA_SIMD_SCALAR;
#elif defined(MASTRA_ARM64)
    return MASTRA_SIMD_NEON;
#else
    return MASTRA_SIMD_SCALAR;
#endif
}

/* The level kernels should use: detected, lowered by MASTRA_SIMD when set to a known name.
 * A cap for the other architecture (avx2 on arm64) falls back to scalar. */
static int mastra_simd_level(void) {
    int detected = mastra_simd_detected();
    const char *cap_name = getenv("MASTRA_SIMD");
    if (cap_name == NULL || cap_name[0] == '\0') return detected;
    int cap = mastra_simd_from_name(cap_name);
    if (cap < 0 || cap >= detected) return detected;
#if defined(MASTRA_ARM64)
    return MASTRA_SIMD_SCALAR;  /* the only level below NEON */
#else
    return cap == MASTRA_SIMD_NEON ? MASTRA_SIMD_SCALAR : cap;
#endif
}

#endif /* MASTRA_CPU_H */
