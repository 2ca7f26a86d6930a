"""How long ``import X`` takes in a fresh interpreter: mastra beside the libraries an AI app
would otherwise import. extra_info['import_ms'] is the median cumulative time that
``python -X importtime`` reports for the top-level module (interpreter start excluded)."""

import re
import statistics
import subprocess
import sys

import pytest

MODULES = ["mastra", "openai", "anthropic", "httpx", "aiohttp", "numpy"]
RUNS = 15


def import_ms(module: str) -> float:
    """Cumulative import time of ``module`` in a fresh interpreter, in milliseconds."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    pattern = rf"^import time:\s+\d+ \|\s+(\d+) \| {re.escape(module)}$"
    return int(re.search(pattern, out, re.MULTILINE).group(1)) / 1000


@pytest.mark.parametrize("module", MODULES)
def test_import_time(benchmark, module):
    samples = [import_ms(module) for _ in range(RUNS)]
    benchmark.extra_info["import_ms"] = round(statistics.median(samples), 2)
    # The timed part: a whole fresh interpreter importing the module.
    benchmark.pedantic(
        subprocess.run,
        args=([sys.executable, "-c", f"import {module}"],),
        kwargs={"check": True},
        rounds=5,
        iterations=1,
    )
