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


AGENT_START = "from mastra import Agent; import mastra.llm.openai"


def agent_start_over_base_ms() -> float:
    """In one fresh interpreter: ``import aiohttp, msgspec`` first, then the agent start-up;
    what the second costs on top of the first (the cumulative times ``-X importtime`` gives
    the top-level modules it loads)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import aiohttp, msgspec; {AGENT_START}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr.splitlines()
    after = max(i for i, line in enumerate(err) if line.endswith("| msgspec"))
    top = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| \S+$")
    return sum(int(m.group(1)) for line in err[after + 1 :] if (m := top.match(line))) / 1000


def test_agent_start_up_over_aiohttp_msgspec(benchmark):
    """Agent start-up (``from mastra import Agent`` + the OpenAI provider) beyond what
    ``import aiohttp, msgspec`` costs, measured in the same run."""
    samples = [agent_start_over_base_ms() for _ in range(RUNS)]
    benchmark.extra_info["over_aiohttp_msgspec_ms"] = round(statistics.median(samples), 2)
    benchmark.extra_info["min_ms"] = round(min(samples), 2)
    benchmark.pedantic(
        subprocess.run,
        args=([sys.executable, "-c", f"import aiohttp, msgspec; {AGENT_START}"],),
        kwargs={"check": True},
        rounds=5,
        iterations=1,
    )
