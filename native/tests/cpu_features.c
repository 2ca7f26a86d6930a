/* mastra_cpu.h's CPUID/XGETBV probe (the code MSVC builds run) against the compiler's own
 * __builtin_cpu_supports, which GCC and clang answer from the same instructions and the same
 * OS checks: every feature both name must agree. Built and run by tools/check_portable.sh,
 * natively and as a Windows program under Wine. Also the OS gate on made-up registers, which
 * no single machine shows. Exit status 0 when all agree. */
#include "mastra_cpu.h"
#include <stdio.h>

#if defined(MASTRA_X86)
/* Features from CPUID leaves 1, 7 and 7.1 as a CPU with everything reports them, under a given
 * XCR0 and OSXSAVE bit: returns how many of the five cases decide wrongly. */
static int os_gate_mistakes(void) {
    const unsigned ecx1 = (1u << 20) | (1u << 12) | (1u << 28) | (1u << 29); /* sse4.2 fma avx f16c */
    const unsigned l1[4] = {0, 0, ecx1 | (1u << 27), 0}, l1_no_osxsave[4] = {0, 0, ecx1, 0};
    const unsigned l7[4] = {0, (1u << 5) | (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31),
                            1u << 11, 0};
    const unsigned avx = MASTRA_F_SSE42 | MASTRA_F_AVX | MASTRA_F_FMA | MASTRA_F_F16C;
    const unsigned avx512 = MASTRA_F_AVX512F | MASTRA_F_AVX512BW | MASTRA_F_AVX512DQ |
                            MASTRA_F_AVX512VL | MASTRA_F_AVX512VNNI;
    int bad = 0;
    const unsigned avx_vnni = 1u << 4, vex = MASTRA_F_AVX2 | MASTRA_F_AVXVNNI;
    bad += mastra_x86_features(7, l1, l7, avx_vnni, 0xe7) != (avx | vex | avx512);
    bad += mastra_x86_features(7, l1, l7, avx_vnni, 0x7) != (avx | vex); /* no ZMM state */
    bad += mastra_x86_features(7, l1_no_osxsave, l7, avx_vnni, 0xe7) != MASTRA_F_SSE42;
    bad += mastra_x86_features(7, l1, l7, avx_vnni, 0x3) != MASTRA_F_SSE42; /* no YMM state */
    bad += mastra_x86_features(6, l1, l7, 0, 0xe7) != avx; /* no leaf 7 */
    return bad;
}
#endif

int main(void) {
#if defined(MASTRA_X86) && defined(__GNUC__)
    const int gate = os_gate_mistakes();
    printf("OS gate on made-up registers: %s\n", gate ? "wrong" : "right");
    __builtin_cpu_init();
    const struct {
        const char *name;
        int builtin;
    } checks[] = {
        {"sse4.2", __builtin_cpu_supports("sse4.2")},
        {"avx", __builtin_cpu_supports("avx")},
        {"avx2", __builtin_cpu_supports("avx2")},
        {"fma", __builtin_cpu_supports("fma")},
#if !defined(__clang__) /* clang has no "f16c" name for the builtin */
        {"f16c", __builtin_cpu_supports("f16c")},
#endif
        {"avx512f", __builtin_cpu_supports("avx512f")},
        {"avx512bw", __builtin_cpu_supports("avx512bw")},
        {"avx512dq", __builtin_cpu_supports("avx512dq")},
        {"avx512vl", __builtin_cpu_supports("avx512vl")},
        {"avx512vnni", __builtin_cpu_supports("avx512vnni")},
#if !defined(__clang__) /* nor an "avxvnni" name (clang 14) */
        {"avxvnni", __builtin_cpu_supports("avxvnni")},
#endif
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        int ours = mastra_cpu_has(checks[i].name), theirs = checks[i].builtin != 0;
        if (ours != theirs) {
            printf("%s: probe says %d, compiler says %d\n", checks[i].name, ours, theirs);
            bad++;
        }
    }
    printf("probe agrees with the compiler: %s (level %s)\n", bad ? "no" : "yes",
           mastra_simd_name(mastra_simd_detected()));
    return gate + bad != 0;
#else
    printf("not an x86-64 GCC/clang build: nothing to compare\n");
    return 1;
#endif
}
