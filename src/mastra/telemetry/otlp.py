"""The OTLP protobuf wire format of our spans: ``ExportTraceServiceRequest`` bytes built
straight from :class:`SpanRecord`s, with no protobuf library.

Each message's bytes are built once, bottom-up (values, key-values, events, status, span,
scope spans, resource spans, request): a length-delimited field is its tag, the varint length
of its payload and the payload, so a parent only joins its children's finished bytes. Field
numbers follow ``opentelemetry/proto/trace/v1/trace.proto`` and ``common/v1/common.proto``;
``tests/telemetry/test_otlp.py`` decodes our bytes with the official opentelemetry-proto
classes and compares them with what the OpenTelemetry SDK's encoder makes of the same spans.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from mastra.errors import ValidationError
from mastra.telemetry.tracing import SpanRecord

__all__ = [
    "KIND_CLIENT",
    "KIND_INTERNAL",
    "encode_attributes",
    "encode_request",
    "encode_span",
    "otlp_value",
]

KIND_INTERNAL, KIND_CLIENT = 1, 3  # Span.SpanKind
# The Status field of a span without a description: code UNSET (0, left out), OK, ERROR.
_STATUS_FIELDS = {"unset": b"\x7a\x00", "ok": b"\x7a\x02\x18\x01", "error": b"\x7a\x02\x18\x02"}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64 = 2**64
_PRIMITIVES = (bool, str, int, float)

_SMALL = [bytes((n,)) for n in range(128)]  # the one-byte varints
_pack_double = struct.Struct("<d").pack
_pack_times = struct.Struct("<BQBQ").pack  # start and end time: two tagged fixed64 fields
_pack_event_time = struct.Struct("<BQ").pack

# Keys repeat from span to span: their encoded field (tag, length, UTF-8) is kept, up to a
# bound past which the cache starts over (ids and free text as keys would only grow it).
_KEY_CACHE: dict[str, bytes] = {}
_KEY_CACHE_MAX = 4096


def _varint(n: int) -> bytes:
    """``n`` (>= 0, below 2**64) as a base-128 varint."""
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _utf8(text: str) -> bytes:
    # A lone surrogate cannot be UTF-8; a collector rejects the whole request for one, so it
    # becomes "?" instead.
    return text.encode("utf-8", "replace")


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, varint length, payload."""
    n = len(payload)
    return tag + (_SMALL[n] if n < 0x80 else _varint(n)) + payload


def _in_int64(value: int) -> bool:
    return _INT64_MIN <= value <= _INT64_MAX


def otlp_value(value: Any) -> Any:
    """What an attribute value becomes in OTLP: a bool, str, int (int64) or float as it
    is; a non-empty list of one of those types (ints within int64) as a list; anything else
    (dicts, mixed or empty lists, ints past int64, objects) as JSON text, or as its repr
    when it cannot be JSON (a cycle, an int past 64 bits inside a list)."""
    if isinstance(value, _PRIMITIVES):
        if isinstance(value, int) and not isinstance(value, bool) and not _in_int64(value):
            return str(value)
        return value
    if isinstance(value, (list, tuple)) and value:
        kind = type(value[0])
        if (
            kind in _PRIMITIVES
            and all(type(v) is kind for v in value)
            and (kind is not int or all(_in_int64(v) for v in value))
        ):
            return list(value)
    try:
        return orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an int past 64 bits, a key orjson cannot write, a cycle
        return repr(value)


def _string_value(value: str) -> bytes:
    return _field(b"\x0a", _utf8(value))


def _bool_value(value: bool) -> bytes:
    return b"\x10\x01" if value else b"\x10\x00"


def _int_value(value: int) -> bytes:
    return b"\x18" + _varint(value % _UINT64)  # int64: negatives in two's complement


def _double_value(value: float) -> bytes:
    return b"\x21" + _pack_double(value)


def _array_value(values: list[Any]) -> bytes:
    return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(v)) for v in values]))


# The AnyValue encoder of each exact type otlp_value returns (subclasses: _any_value).
_VALUE_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    str: _string_value,
    bool: _bool_value,
    int: _int_value,
    float: _double_value,
    list: _array_value,
}


def _any_value(value: Any) -> bytes:
    """An ``AnyValue`` message of a value :func:`otlp_value` returned."""
    encoder = _VALUE_ENCODERS.get(type(value))
    if encoder is not None:
        return encoder(value)
    if isinstance(value, str):
        return _string_value(value)
    if isinstance(value, bool):
        return _bool_value(value)
    if isinstance(value, int):
        return _int_value(value)
    if isinstance(value, float):
        return _double_value(value)
    return _array_value(value)


def _key(key: str) -> bytes:
    encoded = _KEY_CACHE.get(key)
    if encoded is None:
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
        encoded = _KEY_CACHE[key] = _field(b"\x0a", _utf8(key))
    return encoded


def encode_attributes(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    """``attributes`` (values as :func:`otlp_value` returns them) as repeated ``KeyValue``
    fields under ``tag``."""
    # The hot loop of the encoder: _field and the cache lookup are written out in place.
    parts = []
    keys, encoders = _KEY_CACHE, _VALUE_ENCODERS
    for k, v in attributes.items():
        key = keys.get(k) or _key(k)
        encoder = encoders.get(type(v))
        value = encoder(v) if encoder is not None else _any_value(v)
        n = len(value)
        pair = key + b"\x12" + (_SMALL[n] if n < 0x80 else _varint(n)) + value
        n = len(pair)
        parts.append(tag + (_SMALL[n] if n < 0x80 else _varint(n)) + pair)
    return b"".join(parts)


def _events(record: SpanRecord) -> bytes:
    parts = []
    for event in record.events:
        attributes = {k: otlp_value(v) for k, v in event.attributes.items()}
        body = (
            _pack_event_time(0x09, event.time_ns)
            + _field(b"\x12", _utf8(event.name))
            + encode_attributes(b"\x1a", attributes)
        )
        parts.append(_field(b"\x5a", body))
    return b"".join(parts)


def _status(record: SpanRecord) -> bytes:
    # The spec allows a description only with the ERROR code.
    if record.status == "error" and record.status_message:
        return _field(b"\x7a", _field(b"\x12", _utf8(record.status_message)) + b"\x18\x02")
    return _STATUS_FIELDS[record.status]


def _bad_ids(record: SpanRecord) -> ValidationError:
    return ValidationError(
        f"span {record.name!r} cannot be encoded: trace_id must be 32 hex digits and "
        f"span_id and parent_id 16, got {record.trace_id!r}, {record.span_id!r}, "
        f"{record.parent_id!r}"
    )


def encode_span(record: SpanRecord, name: str, kind: int, attributes: Mapping[str, Any]) -> bytes:
    """One ``Span`` field of a ``ScopeSpans`` message: ``record``'s ids, times, events and
    status under the display ``name``, ``kind`` and ``attributes`` (OTLP values) given.
    Ids that are not hex of the right length raise ValidationError."""
    try:
        trace_id = bytes.fromhex(record.trace_id)
        span_id = bytes.fromhex(record.span_id)
        parent_id = bytes.fromhex(record.parent_id) if record.parent_id else b""
    except ValueError:
        raise _bad_ids(record) from None
    if len(trace_id) != 16 or len(span_id) != 8 or len(parent_id) not in (0, 8):
        raise _bad_ids(record)
    parts = [b"\x0a\x10", trace_id, b"\x12\x08", span_id]
    if parent_id:
        parts += (b"\x22\x08", parent_id)
    parts += (
        _field(b"\x2a", _utf8(name)),
        b"\x30" + _SMALL[kind],
        _pack_times(0x39, record.start_ns, 0x41, record.end_ns),
        encode_attributes(b"\x4a", attributes),
        _events(record) if record.events else b"",
        _status(record),
    )
    return _field(b"\x12", b"".join(parts))


def encode_request(resources: Iterable[tuple[bytes, list[bytes]]], scope: tuple[str, str]) -> bytes:
    """An ``ExportTraceServiceRequest``: per resource (its encoded attributes, as
    :func:`encode_attributes` with tag ``b"\\x0a"`` returns them, and its spans as
    :func:`encode_span` returns them), one ``ResourceSpans`` with one ``ScopeSpans`` of the
    instrumentation ``scope`` (name, version)."""
    name, version = scope
    scope_field = _field(b"\x0a", _field(b"\x0a", _utf8(name)) + _field(b"\x12", _utf8(version)))
    out = []
    for resource, spans in resources:
        scope_spans = _field(b"\x12", scope_field + b"".join(spans))
        out.append(_field(b"\x0a", _field(b"\x0a", resource) + scope_spans))
    return b"".join(out)
