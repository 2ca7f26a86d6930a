"""The runnable examples stay runnable (offline, each in a fresh interpreter)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch):
    monkeypatch.delenv("MASTRA_MODEL", raising=False)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


def test_every_example_is_listed():
    assert {p.stem for p in EXAMPLES} >= {
        "agent_with_tools",
        "agent_memory",
        "vector_search",
        "telemetry_tracing",
        "workflow_approval",
        "server_and_client",
    }
