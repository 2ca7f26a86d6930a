"""Real MCP servers for the tests: the SDK's own server (``fast_server.py``) over stdio and
over Streamable HTTP in child processes, a hand-written broken one, and our own."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from mastra.mcp import HttpServer, StdioServer

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
FAST = HERE / "fast_server.py"
BROKEN = HERE / "broken_server.py"
START_TIMEOUT = 60.0  # a loaded 2-core machine takes seconds to import the SDK


def fast_stdio(*args: str, timeout: float = 30.0) -> StdioServer:
    return StdioServer(sys.executable, (str(FAST), *args), timeout=timeout)


def our_stdio(timeout: float = 30.0) -> StdioServer:
    """``mastra mcp serve tests.mcp.app:mastra`` (through the module until the lead wires
    ``mcp`` into ``mastra.cli``)."""
    command = ("-m", "mastra.cli", "mcp", "serve", "tests.mcp.app:mastra")
    return StdioServer(sys.executable, command, cwd=str(ROOT), timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_http(port: int, *args: str) -> subprocess.Popen[bytes]:
    """fast_server.py on Streamable HTTP at 127.0.0.1:port, once it accepts connections."""
    process = subprocess.Popen(
        [sys.executable, str(FAST), "--http", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the HTTP MCP server exited with {process.returncode}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the HTTP MCP server did not listen within {START_TIMEOUT} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait(30)


@pytest.fixture(scope="module")
def http_fast():
    """fast_server.py over Streamable HTTP for the module; yields the HttpServer."""
    port = free_port()
    process = start_http(port)
    yield HttpServer(f"http://127.0.0.1:{port}/mcp", timeout=30.0)
    stop(process)


def descendants() -> set[int]:
    """The process ids of our living (not zombie) child processes."""
    found = set()
    for child in psutil.Process(os.getpid()).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                found.add(child.pid)
    return found


def gone(pid: int) -> bool:
    """The process has exited and was reaped (no zombie left)."""
    return not psutil.pid_exists(pid)
