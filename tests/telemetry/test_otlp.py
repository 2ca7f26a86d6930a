"""The OTLP protobuf encoder (mastra.telemetry.otlp, through OTelExporter.encode) against the
official opentelemetry-proto classes and the OpenTelemetry SDK's own encoder, on random span
records: decoding our bytes must give exactly the message the SDK builds for the same spans,
and the ids, times, names and statuses of the records themselves."""

import enum
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mastra import __version__
from mastra.telemetry import SpanEvent, SpanRecord
from mastra.telemetry.otel import OTelExporter, otel_attributes
from mastra.telemetry.otlp import otlp_value


class Level(enum.IntEnum):
    LOW, HIGH = 1, 2


class Colour(enum.StrEnum):
    RED = "red"


URL = "http://127.0.0.1:9/v1/traces"  # never contacted: these tests only encode
INT64 = st.integers(-(2**63), 2**63 - 1)
FLOATS = st.floats(allow_nan=False)  # NaN != NaN would fail the message comparison
PRIMITIVES = st.one_of(st.booleans(), INT64, FLOATS, st.text(max_size=12))
VALUES = st.one_of(
    PRIMITIVES,
    st.none(),
    st.sampled_from([Level.LOW, Level.HIGH, Colour.RED]),  # subclasses of int and str
    st.lists(st.booleans(), min_size=1, max_size=3),
    st.lists(INT64, min_size=1, max_size=3),
    st.lists(FLOATS, min_size=1, max_size=3),
    st.lists(st.text(max_size=6), min_size=1, max_size=3),
    st.lists(PRIMITIVES, max_size=3),  # mixed or empty: JSON text
    st.dictionaries(st.text(max_size=5), PRIMITIVES, max_size=2),
    st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1),  # past int64
)
KEYS = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["gen_ai.request.model", "gen_ai.system", "gen_ai.agent.name", "type"]),
)
ATTRIBUTES = st.dictionaries(KEYS, VALUES, max_size=5)
TIMES = st.integers(0, 2**64 - 1)


def hex_id(bits):
    numbers = st.one_of(st.integers(0, 2**bits - 1), st.just(2**bits - 1), st.just(1))
    return numbers.map(lambda n: f"{n:0{bits // 4}x}")


@st.composite
def records(draw):
    start = draw(TIMES)
    end = draw(st.one_of(st.just(start), st.integers(start, 2**64 - 1)))  # zero durations
    events = st.builds(
        SpanEvent,
        name=st.one_of(st.just("exception"), st.text(max_size=8)),
        time_ns=TIMES,
        attributes=ATTRIBUTES,
    )
    return SpanRecord(
        name=draw(st.one_of(st.sampled_from(["gen_ai.chat", "agent.run", "tool.call"]), KEYS)),
        trace_id=draw(hex_id(128)),
        span_id=draw(hex_id(64)),
        parent_id=draw(st.none() | hex_id(64)),
        start_ns=start,
        end_ns=end,
        status=draw(st.sampled_from(["unset", "ok", "error"])),
        status_message=draw(st.none() | st.text(max_size=10)),
        attributes=draw(ATTRIBUTES),
        events=draw(st.lists(events, max_size=3)),
        service=draw(st.sampled_from(["svc-a", "svc-b", "ünïcode ✓"])),
    )


def ours(batch, **options):
    return ExportTraceServiceRequest.FromString(OTelExporter(URL, **options).encode(batch))


def sdk(batch, **options):
    """What the OpenTelemetry SDK's encoder makes of the same spans (handed to it as
    ReadableSpans through OTelExporter(span_exporter=...)), decoded."""
    memory = InMemorySpanExporter()
    OTelExporter(URL, span_exporter=memory, **options).send(list(batch))
    expected = encode_spans(memory.get_finished_spans())
    for resource_spans in expected.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                # The SDK says "parent is local" for every span; a SpanRecord does not record
                # whether its parent was remote, so we leave the flags unset (unknown).
                span.flags = 0
    return ExportTraceServiceRequest.FromString(expected.SerializeToString())


@settings(max_examples=80, deadline=None)
@given(st.lists(records(), max_size=4))
def test_our_bytes_decode_to_what_the_sdk_encoder_makes_of_the_same_spans(batch):
    assert ours(batch) == sdk(batch)


@settings(max_examples=60, deadline=None)
@given(records())
def test_the_decoded_span_carries_the_record(record):
    [resource_spans] = ours([record]).resource_spans
    [scope_spans] = resource_spans.scope_spans
    [span] = scope_spans.spans
    assert span.trace_id.hex() == record.trace_id and span.span_id.hex() == record.span_id
    assert span.parent_span_id.hex() == (record.parent_id or "")
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (record.start_ns, record.end_ns)
    assert span.flags == 0
    name, attributes = otel_attributes(record)
    assert span.name == name
    assert [a.key for a in span.attributes] == list(attributes)
    assert span.kind == (3 if record.name == "gen_ai.chat" else 1)
    assert span.status.code == {"unset": 0, "ok": 1, "error": 2}[record.status]
    expected_message = record.status_message if record.status == "error" else None
    assert span.status.message == (expected_message or "")
    assert [(e.name, e.time_unix_nano) for e in span.events] == [
        (e.name, e.time_ns) for e in record.events
    ]
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == record.service
    assert (scope_spans.scope.name, scope_spans.scope.version) == ("mastra", __version__)


def record(**fields):
    defaults = {
        "name": "work",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "parent_id": None,
        "start_ns": 1,
        "end_ns": 2,
    }
    return SpanRecord(**{**defaults, **fields})


def decoded_attributes(batch, **options):
    [span] = ours(batch, **options).resource_spans[0].scope_spans[0].spans
    return {a.key: a.value for a in span.attributes}


def test_values_keep_their_type_and_what_otlp_cannot_carry_travels_as_json():
    cycle = []
    cycle.append(cycle)
    values = decoded_attributes(
        [
            record(
                attributes={
                    "s": "ünï ✓",
                    "b": False,
                    "i": -5,
                    "f": -math.inf,
                    "ints": [1, -2],
                    "mixed": [1, "a"],
                    "empty": [],
                    "doc": {"x": [1]},
                    "huge": 2**70,
                    "huge_list": [1, 2**64],
                    "int_keys": {1: "a"},
                    "cycle": cycle,
                }
            )
        ]
    )
    assert values["s"].string_value == "ünï ✓"
    assert values["b"].WhichOneof("value") == "bool_value" and not values["b"].bool_value
    assert values["i"].int_value == -5 and values["f"].double_value == -math.inf
    assert [v.int_value for v in values["ints"].array_value.values] == [1, -2]
    assert values["mixed"].string_value == '[1,"a"]' and values["empty"].string_value == "[]"
    assert values["doc"].string_value == '{"x":[1]}'
    # An int past int64 cannot be an OTLP int: the SDK's encoder dropped the attribute.
    assert values["huge"].string_value == str(2**70)
    assert values["huge_list"].string_value == repr([1, 2**64])  # orjson stops at 64 bits
    assert values["int_keys"].string_value == '{"1":"a"}'
    assert values["cycle"].string_value == "[[...]]"


def test_a_lone_surrogate_becomes_a_question_mark_instead_of_failing_the_batch():
    values = decoded_attributes([record(name="w\ud800", attributes={"k\udfff": "a\ud800b"})])
    assert values["k?"].string_value == "a?b"


def test_spans_are_grouped_by_service_into_resources_with_the_resource_attributes(monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=a%20b,bad")
    batch = [record(service="a"), record(service="b"), record(service="a", name="second")]
    request = ours(batch, resource={"host.name": "h1", "team": "c"})
    resources = []
    for resource_spans in request.resource_spans:
        attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        names = [s.name for s in resource_spans.scope_spans[0].spans]
        resources.append((attributes, names))
    assert [(r["service.name"], names) for r, names in resources] == [
        ("a", ["work", "second"]),
        ("b", ["work"]),
    ]
    first = resources[0][0]
    assert first["deployment.environment"] == "prod" and first["host.name"] == "h1"
    assert first["team"] == "c"  # the argument wins over the environment
    assert first["telemetry.sdk.name"] == "mastra" and first["telemetry.sdk.language"] == "python"


def test_an_empty_batch_is_an_empty_request():
    assert OTelExporter(URL).encode([]) == b""


def test_otlp_value_is_what_otel_attributes_uses():
    rec = record(attributes={"n": None, "t": (True, False), "big": -(2**63) - 1})
    _, attributes = otel_attributes(rec)
    assert "n" not in attributes
    assert attributes["t"] == [True, False] == otlp_value((True, False))
    assert attributes["big"] == str(-(2**63) - 1)
