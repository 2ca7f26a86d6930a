import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra import MastraError, StreamError
from mastra.sse import EventTooLargeError, ServerSentEvent, SSEDecoder, aiter_sse
from tests.sse.reference import Result, interpret, parse


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
        (b"event:\ndata: 1\n\n", [ev("1")]),  # an empty type means "message"
        (b"event\ndata: 1\n\n", [ev("1")]),
        (b"event: add\nevent: \ndata: 1\n\n", [ev("1")]),
        (b": comment\ndata: x\n: another\n\n", [ev("x")]),
        (b"id: 7\ndata: a\n\ndata: b\n\n", [ev("a", id="7"), ev("b", id="7")]),  # id persists
        (b"id: 7\n\nid\ndata: b\n\n", [ev("b", id="")]),  # an empty id resets it
        (b"id: 7\n\ndata: b\n\n", [ev("b", id="7")]),  # a block without data still sets it
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
    assert decoder.pending and decoder.retry == 3000  # the reconnection time applies at once
    assert decoder.last_event_id == ""  # the id applies only when its event is dispatched
    assert decoder.close() == []
    assert not decoder.pending
    assert decoder.last_event_id == "" and decoder.retry == 3000  # kept for reconnecting
    assert decoder.feed(b"id: 43\ndata: next\n\n") == [ev("next", id="43")]
    decoder.close()
    assert decoder.last_event_id == "43"
    assert decoder.feed(b"data: again\n\n") == [ev("again", id="43")]  # a new stream keeps it


def test_last_event_id_changes_only_when_an_event_is_dispatched():
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\ndata: a\n\nid: 2\n") == [ev("a", id="1")]
    assert decoder.last_event_id == "1"
    assert decoder.feed(b"data: b") == [] and decoder.last_event_id == "1"
    assert decoder.feed(b"\n\n") == [ev("b", id="2")] and decoder.last_event_id == "2"
    # a blank line ending a block with no data still runs the spec's dispatch steps, whose
    # first step sets the last event ID string; only the event itself is not fired
    assert decoder.feed(b"id: 3\n\n") == [] and decoder.last_event_id == "3"
    assert decoder.feed(b"id: 4\0\n\n") == [] and decoder.last_event_id == "3"  # NUL: ignored


@pytest.mark.parametrize("chunk", [None, "data: x\n\n", 7])
def test_feed_takes_only_bytes(chunk):
    with pytest.raises(TypeError, match="bytes"):
        SSEDecoder().feed(chunk)


def outcome(*chunks, max_event_bytes):
    """Feed the chunks one by one: everything the decoder delivered, and how many events it
    reported skipped; each report must name the limit and a size over it."""
    decoder = SSEDecoder(max_event_bytes=max_event_bytes)
    result = Result()
    for chunk in chunks:
        try:
            result.events += decoder.feed(chunk)
        except EventTooLargeError as exc:
            assert exc.limit == max_event_bytes < exc.size and exc.skipped >= 1
            assert f"max_event_bytes={max_event_bytes}" in str(exc) and f"{exc.size} " in str(exc)
            result.events += exc.events
            result.skipped += exc.skipped
    result.events += decoder.close()
    result.last_event_id, result.retry = decoder.last_event_id, decoder.retry
    return result


BIG = b"data: " + b"x" * 100


def test_an_oversized_event_keeps_the_events_around_it():
    decoder = SSEDecoder(max_event_bytes=64)
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b"data: a\n\n" + BIG + b"\n\ndata: b\n\n")
    assert isinstance(info.value, StreamError) and isinstance(info.value, MastraError)
    assert info.value.events == [ev("a"), ev("b")]
    assert (info.value.skipped, info.value.size, info.value.limit) == (1, 106, 64)
    assert "106 bytes" in str(info.value) and "max_event_bytes=64" in str(info.value)
    assert decoder.feed(b"data: c\n\n") == [ev("c")]  # the decoder goes on


def test_two_oversized_events_in_one_chunk_are_one_report():
    got = outcome(b"data: a\n\n" + BIG + b"\n\n" + BIG + b"\r\rdata: b\n\n", max_event_bytes=64)
    assert (got.events, got.skipped) == ([ev("a"), ev("b")], 2)


def test_the_tail_of_an_oversized_line_is_not_read_as_new_lines():
    # the over-long line is "data: xxx...data: evil"; its end must not become a line
    got = outcome(b"data: a\n\n" + BIG, b"data: evil\n\ndata: b\n\n", max_event_bytes=64)
    assert (got.events, got.skipped) == ([ev("a"), ev("b")], 1)
    got = outcome(
        BIG[:50], BIG[50:], b"x" * 10, b"\r", b"\nid: 5\n\r\ndata: b\r\n\r\n", max_event_bytes=64
    )
    # the CR LF split over chunks is one line end, so "id: 5" is still in the oversized event
    assert (got.events, got.skipped, got.last_event_id) == ([ev("b")], 1, "")


def test_the_rest_of_an_oversized_event_is_skipped_across_feeds():
    chunks = [b"data: " + b"x" * 40 + b"\n", b"data: " + b"y" * 40 + b"\n", b"data: tail\n"]
    chunks += [b"event: evil\ndata: more\n", b"\n", b"data: b\n\n"]
    got = outcome(*chunks, max_event_bytes=64)
    assert (got.events, got.skipped) == ([ev("b")], 1)


def test_an_oversized_event_has_no_effect_at_all():
    stream = b"id: 1\ndata: a\n\nid: 2\nretry: 99\nevent: e\n" + BIG + b"\nid: 3\n\ndata: b\n\n"
    got = outcome(stream, max_event_bytes=64)
    assert got.events == [ev("a", id="1"), ev("b", id="1")] and got.skipped == 1
    assert (got.last_event_id, got.retry) == ("1", None)


def test_the_limit_counts_every_line_of_an_event_but_not_line_ends():
    stream = b": note\nid: 7\r\ndata: abc\r\n\r\n"  # 6 + 5 + 9 = 20 bytes of lines
    assert outcome(stream, max_event_bytes=20).events == [ev("abc", id="7")]
    assert outcome(stream, max_event_bytes=19).skipped == 1
    assert outcome(b"data: abc", max_event_bytes=8).skipped == 1  # unfinished, already over
    with pytest.raises(ValueError, match="positive"):
        SSEDecoder(max_event_bytes=0)


async def test_aiter_sse_delivers_the_other_events_then_raises():
    async def handler(request):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: a\n\n" + BIG + b"\n\ndata: b\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    got = []
    try:
        async with aiohttp.ClientSession() as session, session.get(server.make_url("/")) as resp:
            with pytest.raises(EventTooLargeError, match="max_event_bytes=64") as info:
                async for event in aiter_sse(resp, decoder=SSEDecoder(max_event_bytes=64)):
                    got.append(event)
    finally:
        await server.close()
    assert got == [ev("a"), ev("b")] and info.value.status == 200


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


def utf8_text(max_size):
    return st.text(st.sampled_from("ab é€😀\ufeff"), max_size=max_size).map(str.encode)


FIELD = st.one_of(
    st.sampled_from(
        [
            b":",
            b": c",
            b"data",
            b"data:",
            b"data: ",
            b"event: e",
            b"event:",
            b"event",
            b"event: ",
            b"id: 1",
            b"id",
            b"id: a\0",
            b"id:\0",
            b"retry: 10",
            b"retry: 7",
            b"retry: x",
            b"retry:",
            b"dat",
            b"\xef\xbb\xbf",
        ]
    ),
    st.binary(max_size=12),
    st.builds(lambda v: b"data: " + v, st.binary(max_size=20)),
    st.builds(lambda v: b"data:" + v, utf8_text(12)),
    st.builds(lambda v: b"data: " + v, utf8_text(6)),
    st.builds(lambda v: b"id: " + v, utf8_text(4)),
    st.builds(lambda n: b"retry: %d" % n, st.integers(0, 99)),
    st.builds(lambda v: b": " + v, utf8_text(8)),
    st.builds(lambda n: b"data: " + b"z" * n, st.integers(20, 90)),  # often over the limit
)
ENDING = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def streams(draw):
    """Events (a few field lines and a blank line) with any line ends, maybe a BOM first and
    an unfinished event last."""
    blocks = draw(st.lists(st.lists(FIELD, max_size=4), max_size=8))
    lines = [line.replace(b"\r", b"").replace(b"\n", b"") for b in blocks for line in [*b, b""]]
    body = b"".join(line + draw(ENDING) for line in lines)
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    return body + draw(st.binary(max_size=6))  # maybe an unfinished tail


@st.composite
def chunkings(draw, stream):
    """Cut points: anywhere, plus some right after a CR (inside a CRLF) or inside a UTF-8
    sequence (before a continuation byte)."""
    tricky = [i + 1 for i, b in enumerate(stream) if b == 0x0D]
    tricky += [i for i, b in enumerate(stream) if 0x80 <= b <= 0xBF]
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=10))
    if tricky:
        cuts += draw(st.lists(st.sampled_from(tricky), max_size=6))
    points = sorted(set(cuts))
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]


@settings(max_examples=500, deadline=None)
@given(data=st.data(), stream=streams(), limit=st.one_of(st.integers(8, 80), st.just(2**20)))
def test_any_chunking_gives_the_reference_result(data, stream, limit):
    chunks = data.draw(chunkings(stream))
    assert outcome(*chunks, max_event_bytes=limit) == interpret(stream, limit)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), limit=st.integers(1, 64), size=st.integers(1, 17))
def test_fuzz_arbitrary_bytes_never_crash(data, limit, size):
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    got = outcome(*chunks, max_event_bytes=limit)
    for event in got.events:
        assert len(event.data.encode("utf-8", "surrogatepass")) <= 3 * limit
