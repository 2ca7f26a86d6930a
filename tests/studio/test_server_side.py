"""What the Studio needs from the server, over real HTTP: the page knows the REST prefix and
its files are served; the step graph keeps loop and foreach entries; a tool-result chunk has
the tool's duration; a model that raises ends its stream with an error chunk (not a broken
stream); the vector stores are listed."""

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time

import orjson
import pytest

from mastra import Agent, Mastra
from mastra.llm.testing import FunctionModel
from mastra.server.studio import STUDIO
from mastra.vector import InMemoryVector
from mastra.workflows import StepContext, Workflow, step
from tests.server.conftest import client_js_sse


@step
def grow(ctx: StepContext, n: int) -> int:
    return n + 1


@step
def grow_more(ctx: StepContext, n: int) -> int:
    return n + 2


@step
def shout(ctx: StepContext, word: str) -> str:
    return word.upper()


def _explode(request):
    raise RuntimeError("the model fell over")


async def test_studio_page_carries_the_prefix_and_serves_its_files(client):
    api = await client(prefix="/v2")
    page = await api.get("/")
    text = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    assert '<meta name="mastra-prefix" content="/v2">' in text
    assert "__MASTRA_PREFIX__" not in text
    for path in ("/studio/studio.css", "/studio/js/main.js", "/studio/js/agents.js"):
        served = await api.get(path)
        assert served.status == 200, path
        assert (await served.read()) == (STUDIO / path.removeprefix("/studio/")).read_bytes()
    assert (await api.get("/studio/")).status in (403, 404)  # no directory listing


async def test_no_studio_when_asked(client):
    api = await client(studio=False)
    assert (await api.get("/")).status == 404


async def test_step_graph_keeps_loop_and_foreach_entries(client):
    looped = (
        Workflow("shapes", input=int)
        .dountil(grow, lambda n: n >= 3)
        .dowhile(grow_more, lambda n: n < 5)
        .map(lambda n: ["a"] * n)
        .foreach(shout, concurrency=2)
        .commit()
    )
    api = await client(Mastra(workflows=[looped]))
    graph = (await (await api.get("/api/workflows/shapes")).json())["stepGraph"]
    assert [entry["type"] for entry in graph] == ["loop", "loop", "step", "foreach"]
    assert [entry.get("loopType") for entry in graph[:2]] == ["dountil", "dowhile"]
    assert graph[0]["step"]["id"] == "grow" and graph[3]["step"]["id"] == "shout"
    assert graph[3]["opts"] == {"concurrency": 2}


async def test_tool_result_chunk_carries_the_duration(client):
    api = await client()
    answer = await api.post("/api/agents/weather/stream", json={"messages": "Weather in Oslo?"})
    chunks = client_js_sse(await answer.text())
    [result] = [c["payload"] for c in chunks if c["type"] == "tool-result"]
    assert result["toolName"] == "get_weather" and result["result"]["city"] == "Oslo"
    assert isinstance(result["durationMs"], float) and result["durationMs"] >= 0


@pytest.mark.parametrize("route", ["stream", "stream/vnext"])
async def test_a_model_that_raises_ends_the_stream_with_an_error_chunk(client, route):
    api = await client(Mastra(agents=[Agent("fragile", "x", FunctionModel(_explode))]))
    answer = await api.post(f"/api/agents/fragile/{route}", json={"messages": "hi"})
    assert answer.status == 200
    chunks = client_js_sse(await answer.text())  # ends with data: [DONE]
    assert [c["type"] for c in chunks] == ["start", "error"]
    message = chunks[-1]["payload"]["error"]["message"]
    assert "internal error" in message and "RuntimeError" in message
    assert "fell over" not in message  # details stay in the server log


async def test_vector_stores_are_listed(client):
    mastra = Mastra(vectors={"docs": InMemoryVector(), "faq": InMemoryVector()})
    api = await client(mastra)
    listed = await api.get("/api/vector")
    assert listed.status == 200
    assert orjson.loads(await listed.read()) == {"vectors": ["docs", "faq"]}


async def test_with_auth_the_studio_files_are_open_and_the_api_is_not(client):
    from mastra.server import ApiKeyAuth

    api = await client(auth=ApiKeyAuth(["sk-studio"]))
    assert (await api.get("/")).status == 200
    assert (await api.get("/studio/js/main.js")).status == 200
    assert (await api.get("/api/agents")).status == 401
    assert (await api.get("/api/agents", headers={"Authorization": "Bearer sk-studio"})).ok
    closed = await client(auth=ApiKeyAuth(["sk-studio"]), studio=False)
    assert (await closed.get("/")).status == 401


def test_mastra_dev_prints_the_studio_url_and_opens_it(tmp_path):
    """``mastra dev --open`` names the Studio's URL and hands it to the browser (here a
    BROWSER command that writes it to a file) once the server answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "devapp.py").write_text("from mastra import Mastra\nmastra = Mastra()\n")
    opened = tmp_path / "opened.txt"
    env = {**os.environ, "BROWSER": f"sh -c 'echo %s > {opened}'"}
    dev = subprocess.Popen(
        [sys.executable, "-m", "mastra.cli", "dev", "devapp:mastra", "--port", str(port), "--open"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    reader = concurrent.futures.ThreadPoolExecutor(1)
    try:
        line = reader.submit(dev.stdout.readline).result(timeout=30)
        url = f"http://127.0.0.1:{port}/"
        assert line.strip() == f"mastra dev: Studio at {url} (REST under {url[:-1]}/api)"
        deadline = time.monotonic() + 30
        while not (opened.exists() and opened.read_text().strip()):
            assert time.monotonic() < deadline, "the browser was not opened"
            time.sleep(0.1)
        assert opened.read_text().strip() == url
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait(30)
        reader.shutdown()
        dev.stdout.close()
