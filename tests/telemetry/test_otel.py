"""OTelExporter: an agent run's spans reach a local OTLP/HTTP collector as one correctly
linked tree with the GenAI attributes; a dead collector neither slows nor fails runs."""

import asyncio
import gc
import logging
import sys
import time
import warnings
from asyncio.subprocess import PIPE

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from mastra import Agent
from mastra.errors import ConfigError, ValidationError
from mastra.http import RetryPolicy
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall, Usage
from mastra.telemetry import Redactor, SpanRecord, Telemetry, Tracer
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


# -- our own OTLP/HTTP path: no SDK, retries as the spec says, gzip, redaction ---------------

FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay=0.01, max_delay=5.0)
NO_SDK = """
import sys

for name in [m for m in sys.modules if m.split(".")[0] == "opentelemetry"] + ["opentelemetry"]:
    sys.modules[name] = None  # every opentelemetry import now fails, as if not installed
from mastra.telemetry import Tracer
from mastra.telemetry.otel import OTelExporter

exporter = OTelExporter(sys.argv[1], interval=0.05)
with Tracer("no-sdk", exporters=[exporter]).span("work", n=1):
    pass
assert exporter.flush(10.0)
exporter.shutdown()
print(exporter.sent)
"""


async def test_otlp_export_needs_no_opentelemetry_package(collector):
    received, url = collector
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NO_SDK, url, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert out.decode().strip() == "1"
    [span] = received.spans
    assert (span["name"], span["attributes"]["n"], span["resource"]["service.name"]) == (
        "work",
        1,
        "no-sdk",
    )


async def test_values_otlp_cannot_carry_arrive_as_text_and_keep_their_batch(collector):
    """An int past int64 was dropped by the SDK's encoder, a list holding one failed the
    whole batch, and so did an exception event whose type was not text."""
    received, url = collector
    exporter = OTelExporter(url, interval=0.05)
    tracer = Tracer("svc", exporters=[exporter])
    with tracer.span("work", huge=2**70, big_list=[1, 2**64]) as span:
        span.add_event("exception", type=2**70)
        span.set_status("error", "boom")
    with tracer.span("next"):
        pass
    assert await asyncio.to_thread(exporter.flush)
    work, following = received.spans
    assert work["attributes"]["huge"] == str(2**70)
    assert work["attributes"]["big_list"] == repr([1, 2**64])
    assert work["attributes"]["error.type"] == str(2**70)
    assert following["name"] == "next" and exporter.dropped == 0
    await asyncio.to_thread(exporter.shutdown)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_the_statuses_the_otlp_spec_names_are_retried(collector, status):
    received, url = collector
    received.answers = [(status, {}), (status, {})]
    exporter = OTelExporter(url, interval=0.01, retry=FAST_RETRY)
    with Tracer("svc", exporters=[exporter]).span("work"):
        pass
    assert await asyncio.to_thread(exporter.flush)
    assert received.requests == 3 and len(received.spans) == 1
    assert received.bodies[0] == received.bodies[2]  # the same request, sent again
    assert (exporter.sent, exporter.dropped) == (1, 0)
    await asyncio.to_thread(exporter.shutdown)


@pytest.mark.parametrize("status", [400, 401, 404, 408, 500])
async def test_other_failures_are_not_retried(collector, status):
    received, url = collector
    received.answers = [(status, {})]
    exporter = OTelExporter(url, interval=0.01, retry=FAST_RETRY)
    telemetry = Telemetry("svc", exporters=[exporter])
    with telemetry.tracer.span("work"):
        pass
    assert await asyncio.to_thread(exporter.flush)
    assert received.requests == 1 and received.spans == []
    dropped = telemetry.meter.counter("mastra.spans.dropped")
    assert dropped.value(worker="otel-exporter", reason="send_failed") == 1
    await asyncio.to_thread(telemetry.shutdown)


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(collector, status):
    received, url = collector
    received.answers = [(status, {"Retry-After": "1"})]
    exporter = OTelExporter(url, interval=0.01, retry=FAST_RETRY)  # backoff alone: ~0.01 s
    with Tracer("svc", exporters=[exporter]).span("work"):
        pass
    assert await asyncio.to_thread(exporter.flush)
    assert received.requests == 2 and len(received.spans) == 1
    assert received.times[1] - received.times[0] >= 0.95
    await asyncio.to_thread(exporter.shutdown)


async def test_retries_stop_when_the_timeout_is_spent(collector):
    received, url = collector
    received.answers = [(503, {})] * 1000
    retry = RetryPolicy(max_attempts=1000, initial_delay=0.05, max_delay=0.05, jitter=False)
    exporter = OTelExporter(url, interval=0.01, timeout=0.5, retry=retry)
    with Tracer("svc", exporters=[exporter]).span("work"):
        pass
    started = time.monotonic()
    assert await asyncio.to_thread(exporter.flush)
    assert time.monotonic() - started < 2.0
    assert 2 <= received.requests <= 11 and exporter.dropped == 1 and exporter.sent == 0
    await asyncio.to_thread(exporter.shutdown)


async def test_gzip_and_headers_from_the_environment(collector, monkeypatch):
    received, url = collector
    base = url.removesuffix("/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{base}/")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=a%3Db, x-empty=")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    exporter = OTelExporter(interval=0.01)
    assert exporter.endpoint == url
    with Tracer("svc", exporters=[exporter]).span("work", text="x" * 1000):
        pass
    assert await asyncio.to_thread(exporter.flush)
    [headers] = received.headers
    assert headers["Content-Encoding"] == "gzip" and headers["x-team"] == "a=b"
    assert int(headers["Content-Length"]) < len(received.bodies[0]) < 1500
    assert received.spans[0]["attributes"]["text"] == "x" * 1000
    await asyncio.to_thread(exporter.shutdown)


async def test_secrets_are_redacted_before_encoding(collector):
    received, url = collector
    exporter = OTelExporter(url, interval=0.01)
    tracer = Tracer("svc", exporters=[exporter], redactor=Redactor([SECRET]))
    with tracer.span("call", prompt=f"my key is {SECRET}", api_key="a-long-opaque-value") as span:
        span.add_event("retry", header=f"Bearer {SECRET}")
        span.set_status("error", f"rejected {SECRET}")
    assert await asyncio.to_thread(exporter.flush)
    assert (
        SECRET.encode() not in received.bodies[0]
        and b"a-long-opaque-value" not in received.bodies[0]
    )
    [span] = received.spans
    assert span["attributes"]["api_key"] == "[REDACTED]"
    assert "[REDACTED]" in span["attributes"]["prompt"] and "[REDACTED]" in span["status_message"]
    await asyncio.to_thread(exporter.shutdown)


async def test_a_span_with_malformed_ids_is_dropped_alone(collector):
    received, url = collector
    exporter = OTelExporter(url, interval=0.01)
    telemetry = Telemetry("svc", exporters=[exporter])
    good = SpanRecord("good", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", None, 1, 2)
    for trace_id in ("0af765", "zz" * 16, "0af7651916cd43dd8448eb211c80319c00"):
        exporter.export(msgspec.structs.replace(good, name="bad", trace_id=trace_id))
    exporter.export(good)
    assert await asyncio.to_thread(exporter.flush)
    assert [s["name"] for s in received.spans] == ["good"]
    dropped = telemetry.meter.counter("mastra.spans.dropped")
    assert dropped.value(worker="otel-exporter", reason="invalid") == 3
    await asyncio.to_thread(telemetry.shutdown)


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"endpoint": "grpc://collector:4317"}, ConfigError, "http:// or https://"),
        ({"compression": "zstd"}, ConfigError, "gzip, none"),
        ({"timeout": 0}, ValidationError, "timeout must be"),
    ],
)
def test_bad_settings_say_what_is_expected(options, error, says):
    with pytest.raises(error, match=says):
        OTelExporter(**options)


async def test_shutdown_closes_the_http_session(collector, caplog):
    """The session lives on the exporter thread's loop; shutting down must close it there
    (aiohttp warns "Unclosed client session" and "Unclosed connector" otherwise)."""
    received, url = collector
    exporter = OTelExporter(url, interval=0.01)
    with Tracer("svc", exporters=[exporter]).span("work"):
        pass
    assert await asyncio.to_thread(exporter.flush)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await asyncio.to_thread(exporter.shutdown)
        del exporter
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == [] and "Unclosed" not in caplog.text
    assert len(received.spans) == 1


@pytest.mark.parametrize(
    ("variables", "seconds"),
    [
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}, 2.5),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "500"}, 0.5),
        ({}, 10.0),
    ],
)
def test_the_timeout_comes_from_the_environment_in_milliseconds(monkeypatch, variables, seconds):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert OTelExporter().timeout == seconds
    assert OTelExporter(timeout=3).timeout == 3.0  # the argument wins


def test_a_bad_timeout_variable_says_what_is_expected(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="milliseconds"):
        OTelExporter()


@pytest.mark.parametrize("given", ["argument", "environment", "endpoint"])
async def test_credentials_never_reach_the_log(monkeypatch, caplog, given):
    """Every header given to the exporter is a credential in practice (x-honeycomb-team,
    dd-api-key, signoz-access-token ...): a collector that echoes one in its error answer
    must not put it in the warning about the dropped batch, whatever the header's name; nor
    may a password in the endpoint URL reach it."""
    key = "hcteam-0123456789abcdef"

    async def reject(request):
        team = request.headers.get("x-honeycomb-team")
        return web.json_response({"error": {"message": f"unknown team {team}"}}, status=401)

    app = web.Application()
    app.router.add_post("/v1/traces", reject)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/v1/traces"))
    if given == "environment":
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", f"x-honeycomb-team={key}")
        exporter = OTelExporter(url, interval=0.01)
    elif given == "argument":
        exporter = OTelExporter(url, headers={"x-honeycomb-team": key}, interval=0.01)
    else:
        exporter = OTelExporter(url.replace("//", f"//user:{key}@"), interval=0.01)
    with Tracer("svc", exporters=[exporter]).span("work"):
        pass
    with caplog.at_level(logging.WARNING):
        assert await asyncio.to_thread(exporter.flush)
    assert exporter.dropped == 1 and "unknown team" in caplog.text
    assert key not in caplog.text
    await asyncio.to_thread(exporter.shutdown)
    await server.close()
