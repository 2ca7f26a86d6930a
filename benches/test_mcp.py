"""An MCP tool called through a Mastra agent beside the SDK's own client calling it directly,
over stdio and over Streamable HTTP, against the SDK's own server in another process.

Target: the agent's path costs at most 10% more per call than ``mcp.Client.call_tool``.
Two of our paths are measured against the SDK's call:

- "agent run": ``agent.generate`` on a FunctionModel: model -> MCP tool -> model;
- "MCPTool.run": the tool step alone, as the agent's loop calls it (MCPClient, our error
  mapping, progress forwarding), without the two model steps.

Each side talks to its own server process (this same file: ``python benches/test_mcp.py
[--http PORT]``). Rounds run the two sides A-B-B-A so that load on a shared machine falls on
both alike; the figure is the median of the rounds' ratios. The CPU time our process spends per
call is recorded too: the server's work and the transport's latency are the same for both
sides, so the CPU difference is what our path adds.
"""

import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import time

import pytest

BATCH = 10  # calls per side in each leg of an A-B-B-A round
ROUNDS = 60


def serve() -> None:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()


if __name__ == "__main__":
    serve()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _http_server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the benchmark's MCP server exited"
        assert time.monotonic() < deadline, "the benchmark's MCP server did not start"
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait(30)


def _brain(request):
    from mastra.llm import ModelResponse
    from mastra.messages import Message, ToolCall, Usage

    if request.messages[-1].role == "tool":
        return "The sum is 3."
    return ModelResponse(
        message=Message.assistant(None, [ToolCall("c1", "bench_add", {"a": 1, "b": 2})]),
        usage=Usage(5, 5, 0, 10),
        finish_reason="tool_calls",
    )


async def _hold(client, opened, stop):
    """The SDK's client must be entered and left by one task: this task holds it open."""
    async with client:
        opened.set_result(None)
        await stop.wait()


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module", params=["stdio", "http"])
def sides(request, loop):
    """transport -> our runs by path, and the SDK's call; each side has its own server."""
    from mcp import Client, StdioServerParameters

    from mastra.agent import Agent
    from mastra.llm.testing import FunctionModel
    from mastra.mcp import HttpServer, MCPClient, StdioServer
    from mastra.messages import ToolCall
    from mastra.tools import ToolContext

    with contextlib.ExitStack() as processes:
        if request.param == "stdio":
            ours = StdioServer(sys.executable, (__file__,))
            theirs = Client(StdioServerParameters(command=sys.executable, args=[__file__]))
        else:
            ours = HttpServer(processes.enter_context(_http_server()))
            theirs = Client(processes.enter_context(_http_server()))
        mcp = MCPClient({"bench": ours})
        (add,) = loop.run_until_complete(mcp.tools())
        agent = Agent("bench", "You add.", FunctionModel(_brain), tools=[add])
        stop, opened = asyncio.Event(), loop.create_future()
        holder = loop.create_task(_hold(theirs, opened, stop))
        loop.run_until_complete(opened)

        async def agent_run():
            result = await agent.generate("1+2?")
            assert result.steps[0].tool_results[0].content == {"result": 3}

        async def tool_run():
            call = ToolCall("c1", "bench_add", {"a": 1, "b": 2})
            outcome = await add.run(call, ToolContext(tool_call_id="c1", on_progress=_ignore))
            assert outcome.result.content == {"result": 3}

        async def sdk_call():
            result = await theirs.call_tool("add", {"a": 1, "b": 2})
            assert result.structured_content == {"result": 3}

        yield request.param, {"agent run": agent_run, "MCPTool.run": tool_run}, sdk_call
        stop.set()
        loop.run_until_complete(holder)
        loop.run_until_complete(mcp.aclose())


def _ignore(message, data):
    pass


@pytest.mark.parametrize("path", ["agent run", "MCPTool.run"])
def test_mcp_tool_call_overhead(benchmark, loop, sides, path):
    transport, ours, sdk_call = sides
    mine = ours[path]
    wall: dict[str, list[float]] = {"ours": [], "sdk": []}
    cpu: dict[str, list[float]] = {"ours": [], "sdk": []}
    ratios: list[float] = []

    async def batch(run):
        for _ in range(BATCH):
            await run()

    def leg(side: str) -> float:
        started, cpu_started = time.perf_counter(), time.process_time()
        loop.run_until_complete(batch(mine if side == "ours" else sdk_call))
        elapsed = time.perf_counter() - started
        wall[side].append(elapsed / BATCH)
        cpu[side].append((time.process_time() - cpu_started) / BATCH)
        return elapsed

    def abba() -> None:
        a1, b1, b2, a2 = leg("ours"), leg("sdk"), leg("sdk"), leg("ours")
        ratios.append((a1 + a2) / (b1 + b2))

    abba()  # warm both sides
    for kept in (wall, cpu):
        kept["ours"].clear()
        kept["sdk"].clear()
    ratios.clear()
    benchmark.group = f"MCP over {transport}: {path} vs the SDK's call_tool, A-B-B-A rounds"
    benchmark.pedantic(abba, rounds=ROUNDS)
    figures = {
        "ours_us": statistics.median(wall["ours"]) * 1e6,
        "sdk_us": statistics.median(wall["sdk"]) * 1e6,
        "ratio": statistics.median(ratios),
        "ours_cpu_us": statistics.median(cpu["ours"]) * 1e6,
        "sdk_cpu_us": statistics.median(cpu["sdk"]) * 1e6,
    }
    benchmark.extra_info.update({k: round(v, 3) for k, v in figures.items()})
    print(
        f"\n{transport}, {path}: {figures['ours_us']:.0f} us per call vs SDK "
        f"{figures['sdk_us']:.0f} us, paired ratio {figures['ratio']:.3f}; CPU in our process "
        f"{figures['ours_cpu_us']:.0f} us vs {figures['sdk_cpu_us']:.0f} us"
    )


def test_agent_run_with_a_local_tool(benchmark, loop):
    """For attribution: the same agent run with an in-process async tool (no MCP, no I/O),
    i.e. what the agent's loop itself costs around a tool call."""
    from mastra.agent import Agent
    from mastra.llm.testing import FunctionModel
    from mastra.tools import tool

    @tool(id="bench_add")
    async def add(a: int, b: int) -> int:
        return a + b

    agent = Agent("bench", "You add.", FunctionModel(_brain), tools=[add])
    loop.run_until_complete(agent.generate("1+2?"))
    benchmark.group = "agent run with an in-process tool (for attribution)"
    benchmark(lambda: loop.run_until_complete(agent.generate("1+2?")))
