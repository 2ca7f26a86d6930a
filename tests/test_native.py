import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

import mastra
from mastra import ConfigError
from mastra._native import _cpu


def run_info(env_extra):
    code = "import json, mastra; print(json.dumps(mastra.native_info()))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env_extra},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_native_info_reports_build_and_dispatch():
    info = mastra.native_info()
    assert info["version"] == mastra.__version__
    assert info["compiler"].split()[0] in ("GNU", "Clang", "AppleClang", "MSVC")
    optimize = "/O2" if info["compiler"].startswith("MSVC") else "-O3"
    assert optimize in info["flags"].split() and "-march=native" not in info["flags"]
    assert info["cython"].startswith("3.")
    assert info["simd_detected"] in _cpu.LEVELS
    assert set(info["cpu_features"]) <= set(_cpu.FEATURES)
    assert isinstance(info["kernels"], dict)


def test_probe_agrees_with_the_operating_system():
    features = set(_cpu.cpu_features())
    if platform.machine().lower() in ("aarch64", "arm64"):
        assert features == {"neon"} and _cpu.detected_level() == "neon"
        return
    cpuinfo = Path("/proc/cpuinfo").read_text()
    flags = set(next(ln for ln in cpuinfo.splitlines() if ln.startswith("flags")).split())
    kernel_names = {"sse4.2": "sse4_2", "avx512vnni": "avx512_vnni"}
    for name in set(_cpu.FEATURES) - {"neon"}:
        assert (name in features) == (kernel_names.get(name, name) in flags), name
    avx2 = {"avx2", "fma", "f16c"}
    expected = (
        "avx512"
        if avx2 | {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= features
        else "avx2"
        if avx2 <= features
        else "scalar"
    )
    assert _cpu.detected_level() == expected


def test_simd_override_lowers_but_never_raises_the_level():
    detected = _cpu.detected_level()
    scalar = run_info({"MASTRA_SIMD": "scalar"})
    assert scalar["simd_level"] == "scalar"
    assert set(scalar["kernels"].values()) == {"scalar"}  # every kernel, the chunk scan too
    assert run_info({"MASTRA_SIMD": "avx512"})["simd_level"] == detected
    info = run_info({"MASTRA_SIMD": "avx2"})
    assert info["simd_override"] == "avx2"
    assert info["simd_level"] == ("avx2" if detected == "avx512" else detected)


def test_bad_simd_override_is_a_config_error(monkeypatch):
    monkeypatch.setenv("MASTRA_SIMD", "sse9")
    with pytest.raises(ConfigError, match=r"MASTRA_SIMD='sse9'.*scalar, neon, avx2, avx512"):
        mastra.native_info()


def test_modules_declare_they_need_the_gil():
    """No module claims free-threading support (the cache's critical section relies on the
    GIL): a free-threaded CPython turns the GIL back on when it imports them."""
    from mastra._native import _cache, _sse, _vector  # noqa: F401  (all of them loaded)

    assert mastra.native_info()["requires_gil"] is True
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)
    assert gil_enabled()
