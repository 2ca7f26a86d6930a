# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
"""CPU feature probe and build facts for the compiled kernels (private; see mastra.native_info)."""

cdef extern from "mastra_cpu.h":
    int mastra_cpu_has(const char *feature) nogil
    int mastra_simd_detected() nogil
    int mastra_simd_level() nogil
    int mastra_simd_from_name(const char *name) nogil
    const char *mastra_simd_name(int level) nogil

cdef extern from "mastra_build_info.h":
    const char *MASTRA_BUILD_COMPILER
    const char *MASTRA_BUILD_FLAGS
    const char *MASTRA_BUILD_CYTHON
    const char *MASTRA_BUILD_PROCESSOR
    int MASTRA_BUILD_NATIVE_CPU

cdef extern from *:
    # Set for every module by CMakeLists.txt; Cython writes it into the module's Py_mod_gil slot.
    int CYTHON_FREETHREADING_COMPATIBLE

FEATURES = ("sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq",
            "avx512vl", "avx512vnni", "neon")
LEVELS = ("scalar", "neon", "avx2", "avx512")


def cpu_features():
    """The SIMD features this CPU and OS support, from FEATURES."""
    return [name for name in FEATURES if mastra_cpu_has(name.encode())]


def detected_level():
    """The best SIMD level this CPU supports, ignoring MASTRA_SIMD."""
    return mastra_simd_name(mastra_simd_detected()).decode()


def simd_level():
    """The SIMD level kernels dispatch to: detected, lowered by MASTRA_SIMD when set."""
    return mastra_simd_name(mastra_simd_level()).decode()


def is_level_name(name):
    """True when name is one of LEVELS."""
    return mastra_simd_from_name(name.encode()) >= 0


def build_info():
    """How the extension modules were compiled."""
    return {
        "compiler": MASTRA_BUILD_COMPILER.decode(),
        "flags": MASTRA_BUILD_FLAGS.decode(),
        "cython": MASTRA_BUILD_CYTHON.decode(),
        "processor": MASTRA_BUILD_PROCESSOR.decode(),
        "native_cpu_only": bool(MASTRA_BUILD_NATIVE_CPU),
        "requires_gil": not CYTHON_FREETHREADING_COMPATIBLE,
    }
