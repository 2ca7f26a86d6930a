import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra import StreamError
from mastra.sse import ServerSentEvent, SSEDecoder
from tests.sse.reference import parse


def decode(*chunks, **kwargs):
    decoder = SSEDecoder(**kwargs)
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.close()


def ev(data, event="message", id="", retry=None):
    return ServerSentEvent(event, data, id, retry)


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"data: a\n\n", [ev("a")]),
        (b"data:a\n\n", [ev("a")]),  # the space after the colon is optional
        (b"data:  a\n\n", [ev(" a")]),  # only one space is removed
        (b"data: a\ndata: b\n\n", [ev("a\nb")]),  # joined with LF
        (b"data\n\n", [ev("")]),  # a field with no colon: empty value, still dispatched
        (b"data:\ndata:\n\n", [ev("\n")]),
        (b"event: ping\n\n", []),  # no data: no dispatch, and the type is reset
        (b"event: ping\n\ndata: x\n\n", [ev("x")]),
        (b"event: add\ndata: 1\n\n", [ev("1", "add")]),
        (b": comment\ndata: x\n: another\n\n", [ev("x")]),
        (b"id: 7\ndata: a\n\ndata: b\n\n", [ev("a", id="7"), ev("b", id="7")]),  # id persists
        (b"id: 7\n\nid\ndata: b\n\n", [ev("b", id="")]),  # an empty id resets it
        (b"id: a\0b\ndata: x\n\n", [ev("x")]),  # an id with NUL is ignored
        (b"retry: 1500\ndata: x\n\n", [ev("x", retry=1500)]),
        (b"retry: 15x\ndata: x\n\n", [ev("x")]),  # not only digits: ignored
        (b"retry: -1\ndata: x\n\n", [ev("x")]),
        (b"foo: bar\ndata: x\n\n", [ev("x")]),  # unknown fields are ignored
        (b"Data: x\n\n", []),  # field names are case-sensitive
        (b"data: a\r\n\r\ndata: b\r\rdata: c\n\n", [ev("a"), ev("b"), ev("c")]),
        (b"\xef\xbb\xbfdata: bom\n\n", [ev("bom")]),  # one BOM is stripped
        (b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n", []),  # a second one makes the field unknown
        (b"data: \xff\xfe ok\n\n", [ev("\ufffd\ufffd ok")]),  # invalid UTF-8 is replaced
        (b"data: caf\xc3\xa9\n\n", [ev("café")]),
        (b"data: unfinished\n", []),  # an incomplete event at the end is discarded
        (b"data: x", []),
    ],
)
def test_rules(stream, expected):
    assert decode(stream) == expected
    assert parse(stream) == expected  # the reference agrees with the same table


def test_cr_at_end_of_chunk_and_lf_at_start_of_next_is_one_line_end():
    assert decode(b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n") == [ev("a"), ev("b")]
    assert decode(b"data: a\r", b"\r") == [ev("a")]  # CR CR: two line ends


def test_bom_split_over_chunks():
    assert decode(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [ev("x")]
    assert decode(b"\xef", b"\xbbdata: x\n\n") == []  # not a BOM: bytes of an unknown field


def test_state_and_close():
    decoder = SSEDecoder()
    decoder.feed(b"id: 42\nretry: 3000\ndata: partial")
    assert decoder.pending and decoder.last_event_id == "42" and decoder.retry == 3000
    assert decoder.close() == []
    assert not decoder.pending
    assert decoder.last_event_id == "42"  # kept for Last-Event-ID on reconnect
    assert decoder.feed(b"data: next\n\n") == [ev("next", id="42")]


def test_size_limit_names_the_limit_and_recovers():
    decoder = SSEDecoder(max_event_bytes=64)
    with pytest.raises(StreamError, match="max_event_bytes=64"):
        decoder.feed(b"data: " + b"x" * 40 + b"\ndata: " + b"y" * 40 + b"\n")
    with pytest.raises(StreamError, match="max_event_bytes=64"):
        SSEDecoder(max_event_bytes=64).feed(b"data: " + b"z" * 100)  # one endless line
    assert decoder.feed(b"\ndata: ok\n\n") == [ev("ok")]
    with pytest.raises(ValueError, match="positive"):
        SSEDecoder(max_event_bytes=0)


def test_accepts_bytes_like():
    decoder = SSEDecoder()
    assert decoder.feed(bytearray(b"data: a\n\n")) == [ev("a")]
    assert decoder.feed(memoryview(b"xxdata: b\n\n")[2:]) == [ev("b")]


def test_event_value_object():
    e = ev("d", "t", "i", 5)
    assert (e.event, e.data, e.id, e.retry) == ("t", "d", "i", 5)
    assert e == ServerSentEvent("t", "d", "i", 5) and hash(e) == hash(
        ServerSentEvent("t", "d", "i", 5)
    )
    assert "data='d'" in repr(e)
    assert ServerSentEvent() == ev("")


LINE = st.one_of(
    st.sampled_from(
        [
            b"",
            b":",
            b": c",
            b"data",
            b"data:",
            b"data: ",
            b"event: e",
            b"id: 1",
            b"id",
            b"retry: 10",
            b"retry: x",
            b"dat",
            b"\xef\xbb\xbf",
            b"id: a\0",
        ]
    ),
    st.binary(max_size=12),
    st.builds(lambda v: b"data: " + v, st.binary(max_size=20)),
)
ENDING = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def streams(draw):
    parts = draw(st.lists(st.tuples(LINE, ENDING), max_size=25))
    body = b"".join(line.replace(b"\r", b"").replace(b"\n", b"") + end for line, end in parts)
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    return body + draw(st.binary(max_size=6))  # maybe an unfinished tail


@settings(max_examples=400, deadline=None)
@given(stream=streams(), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_any_chunking_gives_the_reference_events(stream, cuts):
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert decode(*chunks) == parse(stream)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), limit=st.integers(1, 64), size=st.integers(1, 17))
def test_fuzz_arbitrary_bytes_never_crash(data, limit, size):
    decoder = SSEDecoder(max_event_bytes=limit)
    for i in range(0, len(data), size):
        # over the limit: the documented error, then the decoder goes on
        with contextlib.suppress(StreamError):
            for event in decoder.feed(data[i : i + size]):
                assert len(event.data.encode("utf-8", "surrogatepass")) <= 3 * limit
    decoder.close()
