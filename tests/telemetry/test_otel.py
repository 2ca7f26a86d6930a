"""OTelExporter: an agent run's spans reach a local OTLP/HTTP collector as one correctly
linked tree with the GenAI attributes; a dead collector neither slows nor fails runs."""

import asyncio
import time

import pytest

from mastra import Agent
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall, Usage
from mastra.telemetry import Redactor, Telemetry, Tracer
from mastra.telemetry.otel import OTelExporter
from tests.telemetry.otlp import dead_url, start_collector

SECRET = "sk-live-abcdefghijklmnop123456"
CLIENT, INTERNAL = 3, 1  # OTLP SpanKind values
OK, ERROR = 1, 2  # OTLP status codes


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def weather_model():
    def answer(request):
        if request.messages[-1].role == "tool":
            return ModelResponse(
                message=Message.assistant("It is sunny."), usage=Usage(12, 4), finish_reason="stop"
            )
        call = ToolCall("call_1", "get_weather", {"city": "Paris"})
        return ModelResponse(
            message=Message.assistant(None, [call]), usage=Usage(10, 3), finish_reason="tool_calls"
        )

    return FunctionModel(answer, model="weather-model")


@pytest.fixture
async def collector():
    collector, server = await start_collector()
    yield collector, str(server.make_url("/v1/traces"))
    await server.close()


async def test_an_agent_run_reaches_the_collector_as_one_linked_tree(collector):
    received, url = collector
    exporter = OTelExporter(url, interval=0.05)
    telemetry = Telemetry("weather-svc", exporters=[exporter], redactor=Redactor([SECRET]))
    agent = Agent("weather", "Be brief.", weather_model(), tools=[get_weather], telemetry=telemetry)
    result = await agent.generate(f"Weather in Paris? my key is {SECRET}")
    assert result.text == "It is sunny."
    assert await asyncio.to_thread(exporter.flush)
    spans = {s["name"]: s for s in received.spans}
    assert sorted(spans) == [
        "chat weather-model",
        "execute_tool get_weather",
        "invoke_agent weather",
    ]
    assert len(received.spans) == 4  # two model calls share a name
    root = spans["invoke_agent weather"]
    assert root["parent_id"] is None
    assert {s["trace_id"] for s in received.spans} == {root["trace_id"]}
    children = [s for s in received.spans if s is not root]
    assert all(s["parent_id"] == root["span_id"] for s in children)
    chats = [s for s in received.spans if s["name"] == "chat weather-model"]
    assert all(s["kind"] == CLIENT for s in chats) and root["kind"] == INTERNAL
    first = min(chats, key=lambda s: s["start_ns"])["attributes"]
    assert first["gen_ai.operation.name"] == "chat"
    assert first["gen_ai.system"] == first["gen_ai.provider.name"] == "function"
    assert first["gen_ai.request.model"] == "weather-model"
    assert (first["gen_ai.usage.input_tokens"], first["gen_ai.usage.output_tokens"]) == (10, 3)
    assert first["gen_ai.response.finish_reasons"] == ["tool_calls"]
    tool = spans["execute_tool get_weather"]["attributes"]
    assert (tool["gen_ai.operation.name"], tool["gen_ai.tool.call.id"]) == (
        "execute_tool",
        "call_1",
    )
    assert root["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert root["attributes"]["mastra.run_id"] == result.run_id
    assert root["attributes"]["gen_ai.usage.input_tokens"] == 22
    assert root["resource"]["service.name"] == "weather-svc" and root["scope"] == "mastra"
    assert all(s["status"] == OK for s in received.spans)
    assert SECRET not in repr(received.spans)
    telemetry.shutdown()


async def test_failed_spans_carry_error_status_type_and_event(collector):
    received, url = collector
    exporter = OTelExporter(url, interval=0.05)
    tracer = Tracer("svc", exporters=[exporter])
    with (
        pytest.raises(KeyError),
        tracer.span("lookup", table="users", tags=["a", "b"], doc={"x": 1}),
    ):
        raise KeyError("missing")
    assert await asyncio.to_thread(exporter.flush)
    [span] = received.spans
    assert span["status"] == ERROR and "KeyError" in span["status_message"]
    assert span["attributes"]["error.type"] == "KeyError"
    assert span["attributes"]["tags"] == ["a", "b"]  # a list of strings stays a list
    assert span["attributes"]["doc"] == '{"x":1}'  # anything else travels as JSON
    assert span["events"][0][0] == "exception"
    exporter.shutdown()


async def test_a_hanging_collector_neither_slows_nor_fails_runs():
    """A collector that accepts connections and never answers is the worst case: the
    exporter thread waits on it while the runs go on; spans past the queue are dropped and
    counted, and the runs take no longer than without an exporter (beyond noise)."""
    hung = asyncio.Event()

    async def hang(reader, writer):
        await hung.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    exporter = OTelExporter(
        f"http://127.0.0.1:{port}/v1/traces", timeout=1.0, max_queue=32, max_batch=8, interval=0.01
    )

    async def timed(telemetry, runs=40):
        agent = Agent("weather", "", weather_model(), tools=[get_weather], telemetry=telemetry)
        started = time.perf_counter()
        for _ in range(runs):
            assert (await agent.generate("Weather?")).text == "It is sunny."
        return time.perf_counter() - started

    baseline = min([await timed(Telemetry("svc")) for _ in range(3)])
    telemetry = Telemetry("svc", exporters=[exporter])
    exporting = min([await timed(telemetry) for _ in range(3)])
    assert exporting < baseline * 2 + 0.1, (exporting, baseline)
    dropped = telemetry.meter.counter("mastra.spans.dropped")
    assert dropped.value(worker="otel-exporter", reason="queue_full") > 0
    assert exporter.dropped >= dropped.value(worker="otel-exporter", reason="queue_full")
    hung.set()
    server.close()
    await asyncio.to_thread(exporter.shutdown, 5.0)


async def test_a_dead_collector_counts_failed_batches_as_dropped():
    exporter = OTelExporter(dead_url(), timeout=0.5, interval=0.01)
    telemetry = Telemetry("svc", exporters=[exporter])
    with telemetry.tracer.span("work"):
        pass
    assert await asyncio.to_thread(exporter.flush, 10.0)
    dropped = telemetry.meter.counter("mastra.spans.dropped")
    assert dropped.value(worker="otel-exporter", reason="send_failed") == 1
    assert exporter.sent == 0
    await asyncio.to_thread(telemetry.shutdown)
