import pytest

from mastra._native import _cpu, _vector

ORDER = ["scalar", "neon", "avx2", "avx512"]
AVAILABLE = [
    lv
    for lv in ORDER[: ORDER.index(_cpu.detected_level()) + 1]
    if lv != "neon" or _cpu.detected_level() == "neon"
]
# The int8 kernels of every level, with and without its dot-product extension where this CPU
# has one (AVX-512 VNNI, AVX-VNNI, SDOT): (level, use the extension).
INT8_VARIANTS = [(lv, False) for lv in AVAILABLE] + [
    (lv, True) for lv in AVAILABLE if _vector.int8_dot_available(lv)
]


@pytest.fixture(params=AVAILABLE)
def simd_level(request):
    """Run the test once per SIMD variant this CPU can execute."""
    before = _vector.level()
    assert _vector.set_level(request.param) == request.param
    yield request.param
    _vector.set_level(before)


@pytest.fixture(params=INT8_VARIANTS, ids=lambda v: f"{v[0]}{'-dot' if v[1] else ''}")
def int8_variant(request):
    """Run the test once per int8 kernel variant this CPU can execute; yields its name."""
    before, dot_before = _vector.level(), _vector.int8_variant() != _vector.level()
    level, dot = request.param
    assert _vector.set_level(level, int8_dot=dot) == level
    assert (_vector.int8_variant() != level) == dot
    yield _vector.int8_variant()
    _vector.set_level(before, int8_dot=dot_before)
