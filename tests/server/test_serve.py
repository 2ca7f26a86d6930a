"""`mastra serve` as real processes: graceful shutdown with a stream open, several workers on
one port, two servers sharing one PostgreSQL, and `mastra init`'s project working as is."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import aiohttp
import pytest

APP = textwrap.dedent("""
    import asyncio, os
    from mastra import Agent, Mastra
    from mastra.llm.testing import FunctionModel
    from mastra.storage import InMemoryStorage, PostgresStorage
    from mastra.workflows import StepContext, Workflow, step

    async def slow(request):
        await asyncio.sleep(float(os.environ.get("SLOW", "0")))
        return "finished in time"

    @step
    async def gate(ctx: StepContext, n: int) -> int:
        if ctx.resume_data is None:
            await ctx.suspend({"pid": os.getpid()})
        return n + ctx.resume_data

    dsn = os.environ.get("DSN")
    mastra = Mastra(
        agents=[
            Agent("slow", "x", FunctionModel(slow)),
            Agent("pid", "x", FunctionModel(lambda r: str(os.getpid()))),
        ],
        workflows=[Workflow("gate").then(gate).commit()],
        storage=PostgresStorage(dsn) if dsn else InMemoryStorage(),
    )
""")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder, port, *extra, env=None):
    (folder / "servable.py").write_text(APP)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mastra.cli",
            "serve",
            "servable:mastra",
            "--port",
            str(port),
            *extra,
        ],
        cwd=folder,
        env={**os.environ, **(env or {})},
    )


async def wait_up(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            assert process.poll() is None, "the server exited"
            try:
                async with session.get(f"http://127.0.0.1:{port}/health") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            await asyncio.sleep(0.1)


async def test_sigterm_lets_an_open_stream_finish(tmp_path):
    port = free_port()
    server = start_server(tmp_path, port, "--grace", "20", env={"SLOW": "1.5"})
    try:
        await wait_up(port, server)
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/api/agents/slow/stream"
            async with session.post(url, json={"messages": "hi"}) as stream:
                await asyncio.sleep(0.3)  # the run is in flight
                server.send_signal(signal.SIGTERM)
                body = await stream.text()
            assert "finished in time" in body and body.endswith("data: [DONE]\n\n")
        assert await asyncio.to_thread(server.wait, 30) == 0
    finally:
        if server.poll() is None:
            server.kill()


async def test_workers_share_the_port(tmp_path):
    port = free_port()
    server = start_server(tmp_path, port, "--workers", "2")
    try:
        await wait_up(port, server)
        pids = set()
        deadline = time.monotonic() + 60  # the second worker may still be starting
        while len(pids) < 2 and time.monotonic() < deadline:
            async with aiohttp.ClientSession() as session:  # a new connection each time:
                url = f"http://127.0.0.1:{port}/api/agents/pid/generate"  # the kernel spreads them
                async with session.post(url, json={"messages": "pid?"}) as answer:
                    pids.add((await answer.json())["text"])
            await asyncio.sleep(0.05)
        assert len(pids) == 2, pids
        os.kill(int(pids.pop()), signal.SIGKILL)  # a worker dies: the supervisor replaces it
        await asyncio.sleep(1)
        await wait_up(port, server)
        server.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.wait, 60) == 0
    finally:
        if server.poll() is None:
            server.kill()


async def test_two_servers_share_one_postgres(tmp_path, postgres_dsn):
    ports = free_port(), free_port()
    servers = [start_server(tmp_path, p, env={"DSN": postgres_dsn}) for p in ports]
    try:
        for port, server in zip(ports, servers, strict=True):
            await wait_up(port, server)
        a, b = (f"http://127.0.0.1:{p}/api" for p in ports)
        async with aiohttp.ClientSession() as session:
            await session.post(f"{a}/memory/threads", json={"resourceId": "u1", "threadId": "t1"})
            async with session.get(f"{b}/memory/threads/t1") as seen:
                assert (await seen.json())["resourceId"] == "u1"
            async with session.post(
                f"{a}/workflows/gate/start-async?runId=r1", json={"inputData": 40}
            ) as started:
                suspended = await started.json()
            assert suspended["status"] == "suspended"
            async with session.post(
                f"{b}/workflows/gate/resume-async?runId=r1", json={"resumeData": 2}
            ) as resumed:
                assert (await resumed.json())["result"] == 42
            async with session.get(f"{a}/workflows/gate/runs/r1") as state:
                assert (await state.json())["status"] == "success"
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(30)


@pytest.mark.parametrize("check", ["tests", "serve"])
async def test_init_makes_a_project_that_works(tmp_path, check):
    project = tmp_path / "proj"
    made = subprocess.run(
        [sys.executable, "-m", "mastra.cli", "init", str(project)], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert {p.name for p in project.iterdir()} >= {"app.py", "tests", ".env.example", "README.md"}
    env = {k: v for k, v in os.environ.items() if k != "MASTRA_MODEL"}
    if check == "tests":
        ran = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=project,
            capture_output=True,
            text=True,
            env=env,
        )
        assert ran.returncode == 0 and "2 passed" in ran.stdout, ran.stdout + ran.stderr
        return
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mastra.cli", "serve", "app:mastra", "--port", str(port)],
        cwd=project,
        env={**env, "MASTRA_DB": str(project / "app.db")},
    )
    try:
        await wait_up(port, server)
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/api/agents/assistant/generate"
            body = {"messages": "What time is it?", "memory": {"thread": "t", "resource": "me"}}
            async with session.post(url, json=body) as answer:
                assert "UTC" in (await answer.json())["text"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    again = subprocess.run(
        [sys.executable, "-m", "mastra.cli", "init", str(project)], capture_output=True, text=True
    )
    assert again.returncode == 2 and "is not empty" in again.stderr


async def test_dev_restarts_when_a_file_changes(tmp_path):
    port = free_port()
    app = "from mastra import Agent, Mastra\nfrom mastra.llm.testing import TestModel\n"
    app += "mastra = Mastra(agents=[{}])\n"
    one = 'Agent("one", "x", TestModel())'
    (tmp_path / "devapp.py").write_text(app.format(one))
    dev = subprocess.Popen(
        [sys.executable, "-m", "mastra.cli", "dev", "devapp:mastra", "--port", str(port)],
        cwd=tmp_path,
    )

    async def agents():
        url = f"http://127.0.0.1:{port}/api/agents"
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            return set(await answer.json())

    try:
        await wait_up(port, dev)
        assert await agents() == {"one"}
        await asyncio.sleep(1.1)  # a coarse file clock still sees a new mtime
        (tmp_path / "devapp.py").write_text(app.format(one + ', Agent("two", "x", TestModel())'))
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(aiohttp.ClientConnectionError):
                if await agents() == {"one", "two"}:
                    break
            assert time.monotonic() < deadline, "the server did not restart with the change"
            await asyncio.sleep(0.2)
        dev.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(dev.wait, 30) == 0
        with pytest.raises(aiohttp.ClientConnectionError):  # the child went with it
            await agents()
    finally:
        if dev.poll() is None:
            dev.kill()
