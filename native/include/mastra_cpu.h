/* Run-time CPU feature detection shared by every kernel module.
 *
 * Wheels are built without -march flags; each kernel compiles one variant per SIMD level
 * (native/kernels/topk_<level>.c) and picks one at import through mastra_simd_level(). The
 * environment variable MASTRA_SIMD (scalar | neon | avx2 | avx512) lowers the level, so tests can
 * run every variant on one machine; it never raises it above what the CPU has.
 *
 * On x86-64 the features come from CPUID and XGETBV with the same decision code under every
 * compiler: only the two instructions are reached differently (<intrin.h> on MSVC, <cpuid.h>
 * and inline assembly under GCC and clang). A feature counts only when the operating system
 * also saves the registers it needs (XCR0), as a CPU reporting AVX-512 under an OS that does
 * not enable it must run the AVX2 or scalar level.
 *
 * The int8 kernels also use an integer dot-product extension where the level has one on this
 * CPU (mastra_int8_dot): AVX-512 VNNI at the avx512 level, AVX-VNNI at avx2, the Armv8.2
 * dot-product instructions (sdot) at neon. The levels themselves do not change.
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

#if defined(__x86_64__) || defined(_M_X64)
#define MASTRA_X86 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#define MASTRA_ARM64 1
#endif

/* Microsoft's compiler proper (clang-cl also defines _MSC_VER but speaks GNU C). */
#if defined(_MSC_VER) && !defined(__clang__)
#define MASTRA_MSVC 1
#endif

/* Feature bits of mastra_cpu_features(), in the order of mastra_feature_names. */
enum {
    MASTRA_F_SSE42 = 1 << 0,
    MASTRA_F_AVX = 1 << 1,
    MASTRA_F_AVX2 = 1 << 2,
    MASTRA_F_FMA = 1 << 3,
    MASTRA_F_F16C = 1 << 4,
    MASTRA_F_AVX512F = 1 << 5,
    MASTRA_F_AVX512BW = 1 << 6,
    MASTRA_F_AVX512DQ = 1 << 7,
    MASTRA_F_AVX512VL = 1 << 8,
    MASTRA_F_AVX512VNNI = 1 << 9,
    MASTRA_F_NEON = 1 << 10,
    MASTRA_F_AVXVNNI = 1 << 11,
    MASTRA_F_DOTPROD = 1 << 12
};

static const char *const mastra_feature_names[] = {
    "sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl",
    "avx512vnni", "neon", "avxvnni", "dotprod"};
enum { MASTRA_N_FEATURES = sizeof(mastra_feature_names) / sizeof(mastra_feature_names[0]) };

#if defined(MASTRA_X86)
#if defined(MASTRA_MSVC)
#include <intrin.h>
#else
#include <cpuid.h>
#endif

/* CPUID leaf/sub-leaf into regs = {eax, ebx, ecx, edx}. */
static void mastra_cpuid(unsigned leaf, unsigned sub, unsigned regs[4]) {
#if defined(MASTRA_MSVC)
    int r[4];
    __cpuidex(r, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++) regs[i] = (unsigned)r[i];
#else
    __cpuid_count(leaf, sub, regs[0], regs[1], regs[2], regs[3]);
#endif
}

/* XCR0: the register states the OS saves (read only when CPUID reports OSXSAVE). */
static unsigned long long mastra_xcr0(void) {
#if defined(MASTRA_MSVC)
    return _xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#endif
}

enum {
    MASTRA_XCR0_AVX = 0x6,     /* XMM and YMM state */
    MASTRA_XCR0_AVX512 = 0xe6  /* and the opmask and both halves of ZMM state */
};

/* The MASTRA_F_* bits from CPUID leaves 1, 7 and 7.1 (its EAX: l7_1_eax), kept only where the
 * OS saves the registers. */
static unsigned mastra_x86_features(unsigned max_leaf, const unsigned l1[4], const unsigned l7[4],
                                    unsigned l7_1_eax, unsigned long long xcr0) {
    unsigned f = 0;
    if (l1[2] & (1u << 20)) f |= MASTRA_F_SSE42;
    int osxsave = (l1[2] & (1u << 27)) != 0;
    if (!osxsave || (xcr0 & MASTRA_XCR0_AVX) != MASTRA_XCR0_AVX) return f;
    if (l1[2] & (1u << 28)) f |= MASTRA_F_AVX;
    if (l1[2] & (1u << 12)) f |= MASTRA_F_FMA;
    if (l1[2] & (1u << 29)) f |= MASTRA_F_F16C;
    if (max_leaf < 7) return f;
    if (l7[1] & (1u << 5)) f |= MASTRA_F_AVX2;
    if (l7_1_eax & (1u << 4)) f |= MASTRA_F_AVXVNNI;
    if ((xcr0 & MASTRA_XCR0_AVX512) != MASTRA_XCR0_AVX512) return f;
    if (l7[1] & (1u << 16)) f |= MASTRA_F_AVX512F;
    if (l7[1] & (1u << 17)) f |= MASTRA_F_AVX512DQ;
    if (l7[1] & (1u << 30)) f |= MASTRA_F_AVX512BW;
    if (l7[1] & (1u << 31)) f |= MASTRA_F_AVX512VL;
    if (l7[2] & (1u << 11)) f |= MASTRA_F_AVX512VNNI;
    return f;
}
#endif

#if defined(MASTRA_ARM64)
#if defined(__linux__)
#include <sys/auxv.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#elif defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#endif

/* 1 when the CPU has the Armv8.2 dot-product instructions (SDOT/UDOT), as the OS reports it. */
static int mastra_arm_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & (1ul << 20)) != 0; /* HWCAP_ASIMDDP */
#elif defined(__APPLE__)
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, NULL, 0) == 0 && value;
#elif defined(_WIN32)
    return IsProcessorFeaturePresent(43) != 0; /* PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE */
#else
    return 0;
#endif
}
#endif

/* The MASTRA_F_* features this CPU and OS support. */
static unsigned mastra_cpu_features(void) {
#if defined(MASTRA_X86)
    unsigned l0[4], l1[4], l7[4] = {0, 0, 0, 0}, l7_1[4] = {0, 0, 0, 0};
    mastra_cpuid(0, 0, l0);
    if (l0[0] < 1) return 0;
    mastra_cpuid(1, 0, l1);
    if (l0[0] >= 7) mastra_cpuid(7, 0, l7);
    if (l0[0] >= 7 && l7[0] >= 1) mastra_cpuid(7, 1, l7_1); /* l7[0]: the last sub-leaf */
    unsigned long long xcr0 = (l1[2] & (1u << 27)) ? mastra_xcr0() : 0;
    return mastra_x86_features(l0[0], l1, l7, l7_1[0], xcr0);
#elif defined(MASTRA_ARM64)
    /* Advanced SIMD is part of every AArch64 CPU; the dot product is optional (Armv8.2). */
    return MASTRA_F_NEON | (mastra_arm_dotprod() ? MASTRA_F_DOTPROD : 0u);
#else
    return 0;
#endif
}

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
    unsigned features = mastra_cpu_features();
    for (int i = 0; i < MASTRA_N_FEATURES; i++) {
        if (strcmp(feature, mastra_feature_names[i]) == 0) return (features >> i) & 1u;
    }
    return 0;
}

/* The best level this CPU supports, ignoring MASTRA_SIMD. */
static int mastra_simd_detected(void) {
    const unsigned f = mastra_cpu_features();
    const unsigned avx512 = MASTRA_F_AVX512F | MASTRA_F_AVX512BW | MASTRA_F_AVX512DQ |
                            MASTRA_F_AVX512VL;
    const unsigned avx2 = MASTRA_F_AVX2 | MASTRA_F_FMA | MASTRA_F_F16C;
    if (f & MASTRA_F_NEON) return MASTRA_SIMD_NEON;
    if ((f & (avx512 | avx2)) == (avx512 | avx2)) return MASTRA_SIMD_AVX512;
    if ((f & avx2) == avx2) return MASTRA_SIMD_AVX2;
    return MASTRA_SIMD_SCALAR;
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

/* 1 when the int8 kernels of `level` use an integer dot-product extension on this CPU: AVX-512
 * VNNI at avx512, AVX-VNNI at avx2, SDOT at neon (each counted only when the OS saves the
 * registers, see mastra_x86_features). */
static int mastra_int8_dot(int level) {
    const unsigned f = mastra_cpu_features();
    switch (level) {
    case MASTRA_SIMD_AVX512: return (f & MASTRA_F_AVX512VNNI) != 0;
    case MASTRA_SIMD_AVX2: return (f & MASTRA_F_AVXVNNI) != 0;
    case MASTRA_SIMD_NEON: return (f & MASTRA_F_DOTPROD) != 0;
    default: return 0;
    }
}

/* The name of an int8 kernel variant: the level, plus "-vnni" or "-dotprod" with the extension. */
static const char *mastra_int8_name(int level, int dot) {
    if (!dot) return mastra_simd_name(level);
    switch (level) {
    case MASTRA_SIMD_AVX512: return "avx512-vnni";
    case MASTRA_SIMD_AVX2: return "avx2-vnni";
    case MASTRA_SIMD_NEON: return "neon-dotprod";
    default: return mastra_simd_name(level);
    }
}

#endif /* MASTRA_CPU_H */
