"""Servers that die, misbehave or outlive nothing: crashes mid-call (stdio and HTTP),
malformed messages, and MCPClient leaving no process, zombie or unclosed resource behind."""

import asyncio
import gc
import os
import signal
import sys
import threading
import warnings

import pytest

from mastra.agent import Agent
from mastra.errors import ConnectionError, ProviderError, TimeoutError
from mastra.mcp import HttpServer, MCPClient, StdioServer
from tests.mcp.conftest import (
    BROKEN,
    descendants,
    fast_stdio,
    free_port,
    gone,
    start_http,
    stop,
)
from tests.mcp.test_client import calling


async def _first_progress(client, server, seen):
    """Start a slow call; return its task once the server reported progress (mid-call)."""
    started = asyncio.Event()

    def report(message, **data):
        seen.append(message)
        started.set()

    call = asyncio.create_task(
        client.call_tool(server, "slow", {"steps": 50, "delay": 0.2}, progress=report)
    )
    await asyncio.wait_for(started.wait(), 30)
    return call


async def test_a_stdio_server_killed_mid_call_is_reported_and_started_again():
    async with MCPClient({"fast": fast_stdio()}) as mcp:
        first = (await mcp.call_tool("fast", "pid"))["result"]
        call = await _first_progress(mcp, "fast", [])
        os.kill(first, signal.SIGKILL)
        with pytest.raises(ConnectionError) as caught:
            await call
        assert str(caught.value) == (
            "MCP server 'fast' closed the connection during tools/call 'slow'; it is "
            "connected again on the next call"
        )
        second = (await mcp.call_tool("fast", "pid"))["result"]
        assert second != first
        assert gone(first)  # reaped: no zombie
    assert gone(second)


async def test_an_http_server_killed_mid_call_is_reported_and_reached_again():
    port = free_port()
    process = start_http(port)
    try:
        async with MCPClient({"web": HttpServer(f"http://127.0.0.1:{port}/mcp")}) as mcp:
            call = await _first_progress(mcp, "web", [])
            stop(process)
            with pytest.raises(ConnectionError, match="closed the connection during tools/call"):
                await call
            with pytest.raises(ConnectionError, match="cannot connect to MCP server 'web'"):
                await mcp.call_tool("web", "add", {"a": 1, "b": 1})
            process = start_http(port)
            assert await mcp.call_tool("web", "add", {"a": 1, "b": 1}) == {"result": 2}
    finally:
        stop(process)


async def test_malformed_messages():
    async with MCPClient({"bad": StdioServer(sys.executable, (str(BROKEN),), timeout=3)}) as mcp:
        # a line that is not JSON-RPC is skipped; the answer after it still counts
        assert await mcp.call_tool("bad", "noise") == "ok"
        with pytest.raises(ProviderError) as caught:
            await mcp.call_tool("bad", "bad_shape")
        assert "MCP server 'bad' sent a malformed answer to tools/call 'bad_shape'" in str(
            caught.value
        )
        assert "valid list at content" in str(caught.value)
        with pytest.raises(TimeoutError) as late:
            await mcp.call_tool("bad", "silent", timeout=1)
        assert "did not answer tools/call 'silent' within 1 s" in str(late.value)
        assert "not valid JSON-RPC, the last: Invalid JSON" in str(late.value)
        assert "'{garbled'" in str(late.value)
        with pytest.raises(ConnectionError) as died:
            await mcp.call_tool("bad", "crash")
        assert "fatal: the broken server gave up" in str(died.value)  # its stderr
        assert await mcp.call_tool("bad", "noise") == "ok"  # started again


async def test_exit_leaves_no_process_and_no_unclosed_resource(http_fast):
    before = descendants()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with MCPClient({"a": fast_stdio(), "b": fast_stdio(), "web": http_fast}) as mcp:
            await asyncio.gather(*(mcp.call_tool(s, "add", {"a": 1, "b": 2}) for s in "ab"))
            await mcp.call_tool("web", "add", {"a": 1, "b": 2})
            servers = descendants() - before
            assert len(servers) == 2
        assert descendants() == before
        assert all(gone(pid) for pid in servers)
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]


async def test_closing_while_connecting_and_calling_after_close():
    mcp = MCPClient({"fast": fast_stdio()})
    before = descendants()
    connecting = asyncio.create_task(mcp.tools())
    await asyncio.sleep(0.2)  # the server is starting
    await mcp.aclose()
    await asyncio.gather(connecting, return_exceptions=True)
    assert descendants() == before
    with pytest.raises(ConnectionError, match="is closed"):
        await mcp.call_tool("fast", "pid")


def test_sync_runs_share_their_threads_loop_and_leave_nothing_after_it():
    """generate_sync runs on its thread's loop: one connection serves its calls, and it ends
    (server process gone) once the thread is gone."""
    mcp = MCPClient({"fast": fast_stdio()})
    before = descendants()
    tools = asyncio.run(mcp.tools())
    agent = Agent("x", "", calling("fast_add", {"a": 1, "b": 2}), tools=tools)
    servers = []

    def twice():
        for _ in range(2):
            assert agent.generate_sync("go").text == "result: {'result': 3}"
            servers.append(descendants() - before)

    thread = threading.Thread(target=twice)
    thread.start()
    thread.join()
    del thread
    gc.collect()
    assert len(servers[0]) == 1 and servers[1] == servers[0]  # one connection, reused
    assert descendants() == before and all(gone(pid) for pid in servers[0])
