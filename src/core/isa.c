/* Which instruction set the kernels use: the best the CPU has, or the one
 * TENSORCOOK_ISA (generic | avx2 | avx512) or tc_set_isa asks for. One binary
 * runs on any x86-64: kernels for wider ISAs live in files compiled with
 * their own target flags (*_avx2.c, *_avx512.c, *_avx512bf16.c; see
 * CMakeLists.txt) and are called only when tc_isa() allows them. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int active = -1; /* tc_isa_level, -1: not decided yet */

static const char *const names[] = {"generic", "avx2", "avx512"};

const char *tc_isa_name(tc_isa_level isa)
{
    return isa >= TC_ISA_GENERIC && isa <= TC_ISA_AVX512 ? names[isa] : "unknown";
}

tc_isa_level tc_isa_best(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    /* the AVX-512 kernels use F, BW, DQ and VL (every AVX-512 CPU since
     * Skylake-X has all four) */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return TC_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return TC_ISA_AVX2;
#endif
    return TC_ISA_GENERIC;
}

static bool ask_cpu_avx512bf16(void)
{
#if defined(__x86_64__)
    /* CPUID leaf 7 subleaf 1, EAX bit 5 (gcc 12's __builtin_cpu_supports
     * knows "avx512bf16" but older compilers do not: ask the CPU) */
    unsigned a = 7, b, c = 1, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return tc_isa_best() == TC_ISA_AVX512 && (a >> 5 & 1);
#else
    return false;
#endif
}

bool tc_cpu_has_avx512bf16(void)
{
    /* asked once: CPUID traps to the hypervisor in a VM (tens of
     * microseconds), and kernels ask on every call */
    static int has = -1;
    int v = __atomic_load_n(&has, __ATOMIC_RELAXED);
    if (v < 0) {
        v = ask_cpu_avx512bf16();
        __atomic_store_n(&has, v, __ATOMIC_RELAXED);
    }
    return v;
}

bool tc_isa_supported(tc_isa_level isa) { return isa >= TC_ISA_GENERIC && isa <= tc_isa_best(); }

tc_isa_level tc_isa(void)
{
    int a = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
    if (a >= 0) return (tc_isa_level)a;
    tc_isa_level best = tc_isa_best(), want = best;
    const char *s = getenv("TENSORCOOK_ISA");
    if (s && *s) {
        for (int i = TC_ISA_GENERIC; i <= TC_ISA_AVX512; i++)
            if (!strcmp(s, names[i])) want = (tc_isa_level)i;
        /* an unknown name or an ISA the CPU lacks falls back to the best
         * available: the library never prints, and crashing with SIGILL on
         * a typo would be worse */
        if (want > best) want = best;
    }
    __atomic_store_n(&active, (int)want, __ATOMIC_RELEASE);
    return want;
}

tc_status tc_set_isa(tc_isa_level isa)
{
    if (isa < TC_ISA_GENERIC || isa > TC_ISA_AVX512)
        return tc_error(TC_ERR_ARG, "set_isa: unknown instruction set %d", (int)isa);
    if (!tc_isa_supported(isa))
        return tc_error(TC_ERR_ARG, "set_isa: this CPU cannot run %s (best: %s)", tc_isa_name(isa),
                        tc_isa_name(tc_isa_best()));
    __atomic_store_n(&active, (int)isa, __ATOMIC_RELEASE);
    return TC_OK;
}
