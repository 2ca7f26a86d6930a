"""``native_info()``: how the compiled kernels were built and what they run on this CPU."""

from __future__ import annotations

import os
import platform
import sys
from importlib import import_module
from typing import Any

from mastra.errors import ConfigError

# Compiled modules that hold SIMD kernels; each has kernels() -> {kernel name: level}.
KERNEL_MODULES: tuple[str, ...] = ("_vector", "_chunk")


def check_simd_override() -> str | None:
    """The MASTRA_SIMD cap, or None; ConfigError when it names no level."""
    from mastra._native import _cpu

    value = os.environ.get("MASTRA_SIMD") or None
    if value is not None and not _cpu.is_level_name(value):
        raise ConfigError(
            f"MASTRA_SIMD={value!r} is not a SIMD level; expected one of {', '.join(_cpu.LEVELS)}"
        )
    return value


def native_info() -> dict[str, Any]:
    """Build and dispatch facts of the compiled extensions, like ``numpy.show_config()``:
    compiler, flags, Cython version, CPU features, and the SIMD level each kernel uses here."""
    from mastra import __version__
    from mastra._native import _cpu

    override = check_simd_override()
    kernels: dict[str, str] = {}
    for name in KERNEL_MODULES:
        kernels.update(import_module(f"mastra._native.{name}").kernels())
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        **_cpu.build_info(),
        "cpu_features": _cpu.cpu_features(),
        "simd_detected": _cpu.detected_level(),
        "simd_override": override,
        "simd_level": _cpu.simd_level(),
        "kernels": kernels,
    }
