import pytest

from mastra._native import _cpu, _vector

ORDER = ["scalar", "neon", "avx2", "avx512"]
AVAILABLE = [
    lv
    for lv in ORDER[: ORDER.index(_cpu.detected_level()) + 1]
    if lv != "neon" or _cpu.detected_level() == "neon"
]


@pytest.fixture(params=AVAILABLE)
def simd_level(request):
    """Run the test once per SIMD variant this CPU can execute."""
    before = _vector.level()
    assert _vector.set_level(request.param) == request.param
    yield request.param
    _vector.set_level(before)
