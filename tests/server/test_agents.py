"""Agent routes with the exact requests @mastra/client-js sends, and its stream parser."""

import asyncio

import orjson
import pytest
from aiohttp import WSMsgType

from mastra import Agent, Mastra
from mastra.llm.testing import FunctionModel
from tests.server.conftest import client_js_sse


async def test_list_and_details_have_mastra_shape(client):
    api = await client()
    listed = await (await api.get("/api/agents")).json()
    assert sorted(listed) == ["echo", "weather"]
    weather = listed["weather"]
    assert weather["name"] == "weather" and weather["instructions"] == "Answer about the weather."
    assert weather["provider"] == "function" and weather["description"] == "knows the weather"
    schema = orjson.loads(weather["tools"]["get_weather"]["inputSchema"])  # JSON text, as Mastra
    assert schema["properties"]["city"]["type"] == "string" and schema["required"] == ["city"]
    details = await (await api.get("/api/agents/weather")).json()
    assert details["tools"].keys() == {"get_weather"}
    missing = await api.get("/api/agents/wether")
    assert missing.status == 404
    error = (await missing.json())["error"]
    assert error["type"] == "not_found" and "did you mean 'weather'" in error["message"]


async def test_generate_returns_the_full_output(client):
    api = await client()
    answer = await api.post(
        "/api/agents/weather/generate",
        json={"messages": [{"role": "user", "content": "Weather in Paris"}], "requestContext": {}},
    )
    assert answer.status == 200 and answer.headers["X-Request-Id"]
    output = await answer.json()
    assert output["text"] == "It is 18 C in Paris." and output["finishReason"] == "stop"
    assert output["toolCalls"] == [
        {
            "type": "tool-call",
            "toolCallId": "call_1",
            "toolName": "get_weather",
            "args": {"city": "Paris"},
        }
    ]
    assert output["toolResults"][0]["result"] == {"city": "Paris", "temp_c": 18}
    assert [s["finishReason"] for s in output["steps"]] == ["tool-calls", "stop"]
    assert set(output["usage"]) >= {"inputTokens", "outputTokens", "totalTokens"}
    roles = [m["role"] for m in output["response"]["messages"]]
    assert roles == ["assistant", "tool", "assistant"]


async def test_generate_with_memory_as_v1_and_legacy_fields(client):
    api = await client()
    for body in (
        {"messages": "Weather in Oslo", "memory": {"thread": "t1", "resource": "u1"}},
        {"messages": "Weather in Rome", "threadId": "t1", "resourceId": "u1"},
    ):
        assert (await api.post("/api/agents/weather/generate", json=body)).status == 200
    stored = await (await api.get("/api/memory/threads/t1/messages?agentId=weather")).json()
    texts = [
        m["content"]["content"] for m in stored["messages"] if m["role"] in ("user", "assistant")
    ]
    assert "Weather in Oslo" in texts and "It is 18 C in Rome." in texts


async def test_stream_speaks_mastras_sse(client):
    api = await client()
    response = await api.post("/api/agents/weather/stream", json={"messages": "Weather in Lima"})
    assert response.headers["Content-Type"].startswith("text/event-stream")
    raw = await response.text()
    assert "\r" not in raw and all(f.startswith("data: ") for f in raw.strip().split("\n\n"))
    chunks = client_js_sse(raw)
    assert {c["from"] for c in chunks} == {"AGENT"} and len({c["runId"] for c in chunks}) == 1
    kinds = [c["type"] for c in chunks]
    assert kinds[:2] == ["start", "step-start"] and kinds[-1] == "finish"
    call = kinds.index("tool-call")
    assert kinds[call + 1] == "tool-result"  # client-js throws if a result has no call before it
    assert chunks[call]["payload"]["toolCallId"] == chunks[call + 1]["payload"]["toolCallId"]
    steps = [c["payload"]["stepResult"]["reason"] for c in chunks if c["type"] == "step-finish"]
    assert steps == ["tool-calls", "stop"]
    text = "".join(c["payload"]["text"] for c in chunks if c["type"] == "text-delta")
    assert text == "It is 18 C in Lima."
    assert kinds.index("text-start") < kinds.index("text-delta") < kinds.index("text-end")
    finish = chunks[-1]["payload"]
    assert finish["stepResult"]["reason"] == "stop" and finish["output"]["usage"]["totalTokens"] > 0


async def test_a_failing_tool_goes_back_to_the_model_not_to_the_client(client):
    api = await client()
    output = await (
        await api.post("/api/agents/weather/generate", json={"messages": "Weather in Atlantis"})
    ).json()
    assert output["toolResults"][0]["isError"] is True
    assert output["text"].startswith("Sorry: tool 'get_weather' failed: ValueError")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{nope", 400, "not valid JSON"),
        (b"[1, 2]", 400, "Expected `object`"),
        (b"{}", 400, "missing required field `messages`"),
        (b'{"messages": "hi", "maxSteps": 0}', 400, "`$.maxSteps`"),
        (b'{"messages": "hi", "maxSteps": "3"}', 400, "Expected `int | null`"),
        (b'{"messages": [{"role": "robot", "content": "x"}]}', 400, "messages[0]"),
        (b'{"messages": "hi", "memory": {"thread": 7}}', 400, "`$.memory.thread`"),
        (b'{"messages": "hi", "structuredOutput": {"schema": {}}}', 400, "output type"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(client, body, status, fragment):
    api = await client()
    answer = await api.post(
        "/api/agents/echo/generate", data=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status == status
    error = (await answer.json())["error"]
    assert fragment in error["message"], error
    assert error["type"] in ("validation_error", "invalid_json")


async def test_a_body_over_the_limit_is_413(client):
    api = await client(max_body=1024)
    answer = await api.post("/api/agents/echo/generate", json={"messages": "x" * 4000})
    assert answer.status == 413
    assert (await answer.json())["error"]["type"] == "payload_too_large"


async def test_an_exception_is_500_with_the_request_id_and_no_traceback(client, caplog):
    def broken(request):
        raise RuntimeError("secret internals sk-live-123")

    mastra = Mastra(agents=[Agent("broken", "x", FunctionModel(broken))])
    api = await client(mastra)
    answer = await api.post(
        "/api/agents/broken/generate", json={"messages": "hi"}, headers={"X-Request-Id": "req-7"}
    )
    assert answer.status == 500 and answer.headers["X-Request-Id"] == "req-7"
    body = await answer.text()
    assert "req-7" in body and "Traceback" not in body and "sk-live-123" not in body
    assert "Traceback" in caplog.text  # the log has it


async def test_a_client_that_disconnects_cancels_its_run(client):
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow(request):
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    api = await client(Mastra(agents=[Agent("slow", "x", FunctionModel(slow))]))
    response = await api.post("/api/agents/slow/stream", json={"messages": "hi"})
    await asyncio.wait_for(started.wait(), 5)
    response.close()  # the client goes away mid-stream
    await asyncio.wait_for(cancelled.wait(), 5)


async def test_websocket_streams_the_same_chunks_and_cancels(client):
    gate = asyncio.Event()

    async def waits(request):
        await gate.wait()
        return "finally"

    mastra = Mastra(
        agents=[
            Agent("weather", "w", FunctionModel(lambda r: "sunny")),
            Agent("waiter", "w", FunctionModel(waits)),
        ]
    )
    api = await client(mastra)
    async with api.ws_connect("/api/agents/weather/ws") as socket:
        await socket.send_json({"messages": "hi"})
        kinds = []
        while True:
            message = await socket.receive_json()
            kinds.append(message["type"])
            if message["type"] == "done":
                break
        assert kinds[0] == "start" and kinds[-2] == "finish"
        await socket.send_str("not json")
        assert (await socket.receive_json())["error"]["type"] == "invalid_json"
    async with api.ws_connect("/api/agents/waiter/ws") as socket:
        await socket.send_json({"messages": "hi", "runId": "r-9"})
        assert (await socket.receive_json())["type"] == "start"
        await socket.send_json({"type": "cancel"})
        assert await socket.receive_json() == {"type": "canceled", "runId": "r-9"}
        assert await socket.receive_json() == {"type": "done", "runId": "r-9"}
        await socket.send_json({"messages": [{"role": "user"}], "maxSteps": -1})
        error = await socket.receive_json()
        assert error["type"] == "error" and error["status"] == 400
        await socket.close()
        assert socket.closed and (await socket.receive()).type in (
            WSMsgType.CLOSED,
            WSMsgType.CLOSE,
        )


async def test_agent_tools_routes(client):
    api = await client()
    info = await (await api.get("/api/agents/weather/tools/get_weather")).json()
    assert info["id"] == "get_weather" and info["description"] == "Current weather for a city."
    result = await api.post(
        "/api/agents/weather/tools/get_weather/execute", json={"data": {"city": "Kyiv"}}
    )
    assert await result.json() == {"city": "Kyiv", "temp_c": 18}
    bad = await api.post("/api/agents/weather/tools/get_weather/execute", json={"data": {}})
    assert bad.status == 400 and "city" in (await bad.json())["error"]["message"]
    failing = await api.post(
        "/api/agents/weather/tools/get_weather/execute", json={"data": {"city": "Atlantis"}}
    )
    assert failing.status == 500 and "no weather under the sea" in await failing.text()
    assert (await api.get("/api/agents/weather/tools/nope")).status == 404
