"""Everything that opens a connection closes it: the documented ways of using agents, models,
storage and the registry leave no "Unclosed client session" (or any ResourceWarning) behind,
checked in fresh interpreters with warnings as errors against a real local server."""

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading

import orjson
import pytest

from mastra.http import HttpClient
from tests.servers import json_reply, sse_reply

ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Bring a coat."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
}

CHUNK = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "delta": {"content": "Bring a coat."}, "finish_reason": "stop"}],
}


async def answer(request):
    """A chat completion, streamed when the request asks for a stream."""
    if (await request.json()).get("stream"):
        return await sse_reply([orjson.dumps(CHUNK).decode()])(request)
    return await json_reply(ANSWER)(request)


SETUP = """
import asyncio
from mastra import Agent, Mastra, tool
from mastra.storage import SQLiteStorage
from mastra.vector import SQLiteVector

@tool
def get_weather(city: str) -> dict:
    \"\"\"Current weather for a city.\"\"\"
    return {"city": city, "temp_c": 8}

def make_agent():
    return Agent("weather", "Answer briefly.", "openai/gpt-4o-mini", tools=[get_weather])
"""

PROGRAMS = {
    "readme: generate_sync, twice": """
        agent = make_agent()
        print(agent.generate_sync("Coat in Paris?").text)
        print(agent.generate_sync("And in Oslo?").text)
    """,
    "stream_sync": """
        agent = make_agent()
        print(len(list(agent.stream_sync("Coat in Paris?"))))
    """,
    "async with agent": """
        async def main():
            async with make_agent() as agent:
                print((await agent.generate("Coat in Paris?")).text)
        asyncio.run(main())
    """,
    "one agent, two event loops, then aclose": """
        agent = make_agent()
        async def ask():
            return (await agent.generate("Coat in Paris?")).text
        print(asyncio.run(ask()), asyncio.run(ask()))
        asyncio.run(agent.aclose())
    """,
    "asyncio.run ends the loop: its pool closes with it": """
        async def main():
            print((await make_agent().generate("Coat in Paris?")).text)
        asyncio.run(main())
    """,
    "async with Mastra owning storage and vectors": """
        import sys
        async def main():
            folder = sys.argv[1]
            async with Mastra(
                agents=[make_agent()],
                storage=SQLiteStorage(folder + "/app.db"),
                vectors={"docs": SQLiteVector(folder + "/vec.db")},
            ) as app:
                print((await app.get_agent("weather").generate("Coat?")).text)
                await app.storage.list_threads("nobody")
                await app.get_vector("docs").list_indexes()
        asyncio.run(main())
    """,
}


LEAK_SIGNS = ("Unclosed", "unclosed", "ResourceWarning", "was never awaited", "Task was destroyed")


def run_program(body, url, folder):
    code = SETUP + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", code, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-test-000000000000"},
    )


@pytest.mark.parametrize("name", list(PROGRAMS))
async def test_documented_usage_leaves_nothing_open(name, provider_server, tmp_path):
    url, script = await provider_server("/v1")
    script.add(answer)
    done = await asyncio.to_thread(run_program, PROGRAMS[name], url, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Bring a coat." in done.stdout or done.stdout.strip().isdigit()
    assert not [sign for sign in LEAK_SIGNS if sign in done.stderr], done.stderr[-3000:]


async def test_the_check_sees_a_session_left_open(provider_server, tmp_path):
    """The same check on a program whose loop ends without shutting down (no asyncio.run,
    no aclose): the warning is there, so the tests above would catch a leak."""
    url, script = await provider_server("/v1")
    script.add(answer)
    body = """
        loop = asyncio.new_event_loop()
        loop.run_until_complete(make_agent().generate("Coat in Paris?"))
        loop.close()
    """
    done = await asyncio.to_thread(run_program, body, url, tmp_path)
    assert "ResourceWarning: unclosed" in done.stderr


def test_one_client_serves_loops_in_several_threads(recwarn):
    """A client shared by threads that each run an event loop: each loop gets its own pool,
    requests never cross loops, and one aclose() from another loop closes every pool."""
    from aiohttp import web

    async def echo(request):
        return web.json_response({"thread": request.query["t"]})

    async def serve():
        app = web.Application()
        app.router.add_get("/echo", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    server_loop = asyncio.new_event_loop()
    server_thread = threading.Thread(target=server_loop.run_forever, daemon=True)
    server_thread.start()
    runner, port = asyncio.run_coroutine_threadsafe(serve(), server_loop).result(10)
    client = HttpClient(f"http://127.0.0.1:{port}")
    loops = [asyncio.new_event_loop() for _ in range(3)]
    threads = [threading.Thread(target=loop.run_forever, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()

    async def ask(t):
        return [(await client.request("GET", f"/echo?t={t}")).json()["thread"] for _ in range(5)]

    futures = [asyncio.run_coroutine_threadsafe(ask(i), loop) for i, loop in enumerate(loops)]
    assert [f.result(10) for f in futures] == [[str(i)] * 5 for i in range(3)]
    assert asyncio.run(ask("main")) == ["main"] * 5  # a fourth loop, already finished
    asyncio.run(client.aclose())  # closes the three running loops' pools and the dead one's
    assert asyncio.run(ask("again")) == ["again"] * 5  # usable after aclose: a new pool
    asyncio.run(client.aclose())
    for loop in loops:
        loop.call_soon_threadsafe(loop.stop)
    for thread in threads:
        thread.join(5)
    for loop in loops:
        loop.close()
    asyncio.run_coroutine_threadsafe(runner.cleanup(), server_loop).result(10)
    server_loop.call_soon_threadsafe(server_loop.stop)
    server_thread.join(5)
    server_loop.close()
    gc.collect()
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)]
