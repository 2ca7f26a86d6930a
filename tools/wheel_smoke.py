"""Smoke test of an installed mastra wheel, run by cibuildwheel for every wheel it builds
(pyproject.toml, [tool.cibuildwheel]) and by tools/check_wheel.sh.

Checks that mastra imports from the installed wheel (not a source tree); that every SIMD level
this CPU has gives NumPy's answer for float32, float16 and int8 scans, on one thread and two;
that the compiled cache and SSE decoder work; that the modules keep the GIL; and that the
``mastra`` command runs ``info`` and the offline demo. Exits non-zero with the reason on failure.

``python wheel_smoke.py --level LEVEL`` runs only the kernel checks, in this process, and requires
LEVEL to be the level in use: tools/check_wheel.sh runs it under qemu-x86_64 on emulated CPUs.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np

ARM64 = platform.machine().lower() in ("arm64", "aarch64")
LEVELS = ("scalar", "neon") if ARM64 else ("scalar", "avx2", "avx512")


def check_installed() -> None:
    import mastra

    where = Path(mastra.__file__).resolve()
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    assert any(root in where.parents for root in installed), (
        f"mastra was imported from {where}, not from the installed wheel in {installed}"
    )
    info = mastra.native_info()
    assert info["requires_gil"] is True, info
    assert getattr(sys, "_is_gil_enabled", lambda: True)(), "the GIL is off after import"
    print(
        f"mastra {mastra.__version__} from {where.parent}: {info['compiler']}, "
        f"SIMD {info['simd_detected']}"
    )


def reference(matrix: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        return -np.sqrt(((matrix - query) ** 2).sum(axis=1))
    if metric == "cosine":
        matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        query = query / np.linalg.norm(query)
    return matrix @ query


def check_level(level: str) -> None:
    """The kernels at one SIMD level (this process runs with MASTRA_SIMD=level)."""
    from mastra import native_info
    from mastra.vector import CompressedMatrix, top_k

    assert native_info()["simd_level"] == level, native_info()
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((3001, 37)).astype(np.float32)  # 37: vector body and tail
    queries = rng.standard_normal((5, 37)).astype(np.float32)
    k = 6
    for metric in ("cosine", "dot", "euclidean"):
        ids, scores = top_k(matrix, queries, k, metric, threads=1)
        ids2, scores2 = top_k(matrix, queries, k, metric, threads=2)
        assert (ids == ids2).all() and np.allclose(scores, scores2), (level, metric)
        for q, query in enumerate(queries):
            ref = reference(matrix.astype(np.float64), query.astype(np.float64), metric)
            sign = -1.0 if metric == "euclidean" else 1.0
            assert np.allclose(sign * scores[q], np.sort(ref)[::-1][:k], atol=1e-4), (level, metric)
            assert np.allclose(sign * scores[q], ref[ids[q]], atol=1e-4), (level, metric)
        for dtype in ("float16", "int8"):
            _, approx_scores = CompressedMatrix(matrix, dtype, metric).top_k(queries, k, threads=2)
            assert np.allclose(approx_scores, scores, atol=1e-3), (level, metric, dtype)
    print(f"top_k at {level}: float32 (1 and 2 threads), float16, int8 agree with NumPy")


def check_cache_and_sse() -> None:
    from mastra.cache import LRUCache, TTLCache
    from mastra.sse import SSEDecoder

    lru: LRUCache[str, int] = LRUCache(maxsize=2)
    lru["a"], lru["b"] = 1, 2
    _ = lru["a"]
    lru["c"] = 3
    assert sorted(lru) == ["a", "c"], list(lru)
    now = [0.0]
    ttl: TTLCache[str, int] = TTLCache(maxsize=4, ttl=10, timer=lambda: now[0])
    ttl["x"] = 1
    now[0] = 11.0
    assert "x" not in ttl
    events = SSEDecoder().feed(b"event: note\r\ndata: one\ndata: two\r\rdata: tail")
    assert [(e.event, e.data) for e in events] == [("note", "one\ntwo")], events
    print("LRUCache, TTLCache and SSEDecoder work")


def check_command() -> None:
    command = shutil.which("mastra")
    assert command, "the mastra command is not on PATH"
    env = {k: v for k, v in os.environ.items() if k not in ("MASTRA_MODEL", "MASTRA_SIMD")}
    env["PYTHONUTF8"] = "1"  # the demo's output through a pipe, on Windows too

    def mastra(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([command, *args], env=env, capture_output=True, encoding="utf-8")

    info = mastra("info", "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["kernels"], info.stdout
    demo = mastra("demo")
    assert demo.returncode == 0 and "scripted stand-in" in demo.stdout, demo.stdout + demo.stderr
    print("mastra info and mastra demo (offline) run")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--level":
        check_level(sys.argv[2])
        return
    check_installed()
    from mastra import native_info

    detected = LEVELS.index(native_info()["simd_detected"])
    for level in LEVELS[: detected + 1]:
        env = {**os.environ, "MASTRA_SIMD": level}
        subprocess.run([sys.executable, __file__, "--level", level], env=env, check=True)
    check_cache_and_sse()
    check_command()
    print("wheel smoke test: OK")


if __name__ == "__main__":
    main()
