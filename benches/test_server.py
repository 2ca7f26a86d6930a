"""Serving an agent over HTTP under load, each server in its own process on 127.0.0.1, the
load generator (aiohttp, keep-alive) in this one; peers: agno's AgentOS (FastAPI + uvicorn)
and a bare aiohttp app answering with bytes recorded from ours (the floor).

(a) generate on an instant model: 64 connections, GENERATE requests: requests/s, p50/p99
    latency and the server process's CPU time per request;
(b) a STREAM_TOKENS-token stream (one word per chunk: a token is one text-delta of ours, one
    RunContent event of AgentOS): server CPU per token, 64 connections, STREAMS streams;
(c) OPEN_STREAMS SSE streams held open at once (the model never answers): server RSS.

Each measurement runs ROUNDS times on a warmed-up server; the summary printed at the end of
the module shows the medians, the ratios and the issue's targets. Run (a few minutes):

    python -m pytest benches/test_server.py --benchmark-only --benchmark-columns=median,rounds
"""

import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import orjson
import psutil
import pytest

from server_peers import ANSWER, HOLD, STREAM_TOKENS

CONCURRENCY = 64
GENERATE, GENERATE_WARMUP = 5000, 500
STREAMS, STREAM_WARMUP = 128, 16
OPEN_STREAMS = 1000
ROUNDS = 3
PROMPT = "What is 1 + 2?"
BENCHES = Path(__file__).parent
RESULTS: dict[tuple[str, str], dict[str, float]] = {}


@dataclass
class Call:
    """One kind of request to one server, and how to check its answer."""

    path: str
    body: bytes
    content_type: str
    expect: bytes  # in every answer
    count: bytes = b""  # ... and STREAM_TOKENS times, when set

    def check(self, status: int, payload: bytes) -> None:
        assert status == 200, payload[:300]
        assert self.expect in payload, payload[:300]
        if self.count:
            assert payload.count(self.count) == STREAM_TOKENS, payload[-300:]


def ours(agent: str, route: str, count: bytes = b"") -> Call:
    body = orjson.dumps({"messages": PROMPT})
    expect = ANSWER.encode() if route == "generate" else b'"type":"start"'
    return Call(f"/api/agents/{agent}/{route}", body, "application/json", expect, count)


def agno(agent: str, stream: bool, count: bytes = b"") -> Call:
    body = urlencode({"message": PROMPT, "stream": str(stream).lower()}).encode()
    expect = ANSWER.encode() if not stream else b"event: RunStarted"
    return Call(f"/agents/{agent}/runs", body, "application/x-www-form-urlencoded", expect, count)


@dataclass
class Spec:
    command: list[str]
    calls: dict[str, Call] = field(default_factory=dict)


MASTRA_SERVE = [sys.executable, "-m", "mastra.cli", "serve"]
SPECS = {
    "mastra": Spec(
        [*MASTRA_SERVE, "server_peers.mastra_app:mastra", "--grace", "2", "--port"],
        {
            "generate": ours("bench", "generate"),
            "stream": ours("long", "stream", b'"type":"text-delta"'),
            "hold": ours(HOLD, "stream"),
        },
    ),
    "agentos": Spec(
        [sys.executable, "-m", "server_peers.agno_os"],
        {
            "generate": agno("bench", False),
            "stream": agno("long", True, b"event: RunContent\n"),
            "hold": agno(HOLD, True),
        },
    ),
    "floor": Spec([sys.executable, "-m", "server_peers.floor"]),
}


# -- servers -----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    calls: dict[str, Call]

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(name: str, args: list[str] = ()) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(BENCHES), "AGNO_TELEMETRY": "false"}
    process = subprocess.Popen(
        [*SPECS[name].command, str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return Server(name, f"http://127.0.0.1:{port}", process, dict(SPECS[name].calls))


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


def record_ours() -> tuple[dict[str, Call], dict[str, bytes]]:
    """One generate answer and one stream of our server, to be replayed by the floor."""
    server = start("mastra")
    try:
        calls, payloads = {}, {}
        for kind in ("generate", "stream"):
            call = server.calls[kind]
            status, payloads[kind] = asyncio.run(fetch_one(server.url, call))
            call.check(status, payloads[kind])
            calls[kind] = Call(f"/{kind}", call.body, call.content_type, call.expect, call.count)
        hold = server.calls["hold"]
        calls["hold"] = Call("/hold", hold.body, hold.content_type, hold.expect)
        return calls, payloads
    finally:
        stop(server)


async def fetch_one(url: str, call: Call) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session:
        headers = {"Content-Type": call.content_type}
        async with session.post(url + call.path, data=call.body, headers=headers) as response:
            return response.status, await response.read()


def raise_open_files(needed: int) -> None:
    """Room for OPEN_STREAMS sockets here and in the servers (they inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        top = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= needed, "raise ulimit -n"


@pytest.fixture(scope="module", params=list(SPECS))
def server(request, tmp_path_factory):
    """One server at a time (pytest finishes one parameter before starting the next)."""
    raise_open_files(2 * OPEN_STREAMS + 500)
    if request.param == "floor":
        recorded, payloads = record_ours()
        folder = tmp_path_factory.mktemp("floor")
        for kind, payload in payloads.items():
            (folder / kind).write_bytes(payload)
        running = start("floor", [str(folder / "generate"), str(folder / "stream")])
        running.calls = recorded
    else:
        running = start(request.param)
    yield running
    stop(running)


# -- load --------------------------------------------------------------------------------


async def load(url: str, call: Call, n: int) -> list[float]:
    """``n`` requests over CONCURRENCY keep-alive connections; each one's latency (s)."""
    latencies: list[float] = []
    pending = iter(range(n))
    headers = {"Content-Type": call.content_type}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for _ in pending:
                started = time.perf_counter()
                async with session.post(url + call.path, data=call.body, headers=headers) as r:
                    payload = await r.read()
                latencies.append(time.perf_counter() - started)
                call.check(r.status, payload)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latencies


def measure(server: Server, kind: str, n: int) -> dict[str, float]:
    load_before = os.getloadavg()[0]
    cpu, started = server.cpu(), time.perf_counter()
    latencies = asyncio.run(load(server.url, server.calls[kind], n))
    wall, cpu = time.perf_counter() - started, server.cpu() - cpu
    latencies.sort()
    return {
        "requests/s": n / wall,
        "p50 ms": latencies[len(latencies) // 2] * 1e3,
        "p99 ms": latencies[int(len(latencies) * 0.99)] * 1e3,
        "server CPU us/request": cpu / n * 1e6,
        "load (1 min)": load_before,
    }


def run_rounds(benchmark, server: Server, kind: str, n: int, warmup: int) -> dict[str, float]:
    asyncio.run(load(server.url, server.calls[kind], warmup))
    rounds: list[dict[str, float]] = []
    benchmark.pedantic(lambda: rounds.append(measure(server, kind, n)), rounds=ROUNDS)
    result = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    RESULTS[(kind, server.name)] = result
    benchmark.extra_info.update({key: round(value, 2) for key, value in result.items()})
    return result


def test_generate(benchmark, server):
    benchmark.group = f"(a) generate, {GENERATE} requests over {CONCURRENCY} connections"
    run_rounds(benchmark, server, "generate", GENERATE, GENERATE_WARMUP)


def test_stream(benchmark, server):
    benchmark.group = f"(b) {STREAMS} streams of {STREAM_TOKENS} tokens, {CONCURRENCY} at once"
    result = run_rounds(benchmark, server, "stream", STREAMS, STREAM_WARMUP)
    per_token = result["server CPU us/request"] / STREAM_TOKENS
    result["server CPU us/token"] = per_token
    benchmark.extra_info["server CPU us/token"] = round(per_token, 2)


# -- open streams ------------------------------------------------------------------------


async def hold_open(server: Server, count: int) -> tuple[int, int]:
    """Open ``count`` streams (at most 64 connecting at once), wait until each has sent its
    first chunk and the server is quiet, take the server's RSS; then hang up on them all and
    take it again once the server has cancelled the runs."""
    call, ps = server.calls["hold"], server.ps
    headers = {"Content-Type": call.content_type}
    timeout = aiohttp.ClientTimeout(total=None)
    connecting = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:

        async def open_one() -> aiohttp.ClientResponse:
            async with connecting:
                response = await session.post(
                    server.url + call.path, data=call.body, headers=headers
                )
                first = await response.content.readany()
                assert response.status == 200 and call.expect in first, first[:300]
                return response

        responses = await asyncio.gather(*(open_one() for _ in range(count)))
        await settle(ps)
        assert all(not r.content.at_eof() for r in responses)
        held = ps.memory_info().rss
        for response in responses:
            response.close()
    await settle(ps)
    return held, ps.memory_info().rss


async def settle(ps: psutil.Process, quiet: float = 0.5) -> None:
    """Until the server spends under 2% of a core over ``quiet`` seconds."""
    for _ in range(40):
        times = ps.cpu_times()
        await asyncio.sleep(quiet)
        after = ps.cpu_times()
        if (after.user + after.system - times.user - times.system) < 0.02 * quiet:
            return


def test_open_streams(benchmark, server):
    benchmark.group = f"(c) {OPEN_STREAMS} SSE streams open at once"
    idle = server.ps.memory_info().rss
    rounds: list[tuple[int, int]] = []
    benchmark.pedantic(
        lambda: rounds.append(asyncio.run(hold_open(server, OPEN_STREAMS))), rounds=ROUNDS
    )
    result = {
        "idle RSS MB": idle / 2**20,
        "RSS MB, streams open": statistics.median(held for held, _ in rounds) / 2**20,
        "RSS MB, after hang-up": rounds[-1][1] / 2**20,
    }
    result["KiB per open stream"] = (
        (result["RSS MB, streams open"] - idle / 2**20) * 1024 / OPEN_STREAMS
    )
    RESULTS[("hold", server.name)] = result
    benchmark.extra_info.update({key: round(value, 2) for key, value in result.items()})
    benchmark.extra_info["RSS MB open, by round"] = [round(h / 2**20, 1) for h, _ in rounds]


# -- summary -----------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    """Medians, ratios and the issue's targets, printed after the module."""
    yield
    lines = ["", f"HTTP server (medians of {ROUNDS} rounds)"]
    for (kind, name), result in sorted(RESULTS.items()):
        shown = ", ".join(f"{key} {value:.1f}" for key, value in result.items())
        lines.append(f"  {kind:8} {name:8} {shown}")
    lines += targets()
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    with plugins.get_plugin("capturemanager").global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)


def targets() -> list[str]:
    out = []
    ours, agentos, floor = (RESULTS.get(("generate", n)) for n in ("mastra", "agentos", "floor"))
    if ours and agentos:
        rps = ours["requests/s"] / agentos["requests/s"]
        p99 = ours["p99 ms"] / agentos["p99 ms"]
        out.append(f"  (a) requests/s {rps:.2f}x AgentOS (target >= 3): {ok(rps >= 3)}")
        out.append(f"  (a) p99 {p99:.2f} of AgentOS's (target <= 1/3): {ok(p99 <= 1 / 3)}")
        cpu = agentos["server CPU us/request"] / ours["server CPU us/request"]
        out.append(f"  (a) server CPU per request: AgentOS spends {cpu:.1f}x ours")
    if ours and floor:
        above = ours["server CPU us/request"] - floor["server CPU us/request"]
        out.append(
            f"  (a) server CPU {above:.0f} us/request above the floor (<= 100): {ok(above <= 100)}"
        )
    ours_s, agentos_s = RESULTS.get(("stream", "mastra")), RESULTS.get(("stream", "agentos"))
    if ours_s and agentos_s:
        ratio = agentos_s["server CPU us/token"] / ours_s["server CPU us/token"]
        out.append(f"  (b) server CPU per token: AgentOS spends {ratio:.1f}x ours")
    held = RESULTS.get(("hold", "mastra"))
    if held:
        rss = held["RSS MB, streams open"]
        out.append(f"  (c) {OPEN_STREAMS} open streams: {rss:.0f} MB RSS (< 300): {ok(rss < 300)}")
    return out


def ok(met: bool) -> str:
    return "met" if met else "MISSED"
