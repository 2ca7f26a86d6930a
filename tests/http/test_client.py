import asyncio
import email.utils
import time

import aiohttp
import msgspec
import pytest
from aiohttp import web

from mastra.errors import (
    AuthenticationError,
    BadRequestError,
    ConnectionError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamError,
    TimeoutError,
    ValidationError,
)
from mastra.http import HttpClient, RetryPolicy, Timeouts, parse_retry_after

KEY = "sk-test-secretsecretsecret0123"
FAST = RetryPolicy(max_attempts=4, initial_delay=0.01, max_delay=0.05)


def scripted(responses, counter):
    """A handler answering the n-th request with responses[n] (the last one repeats)."""

    async def handler(request):
        counter.append(request)
        make = responses[min(len(counter), len(responses)) - 1]
        return await make(request)

    return handler


def json_error(status, message, headers=None):
    async def make(request):
        return web.json_response(
            {"error": {"message": message, "type": "x"}},
            status=status,
            headers={"x-request-id": "req_42", **(headers or {})},
        )

    return make


def ok(payload=None):
    async def make(request):
        return web.json_response(payload or {"ok": True})

    return make


async def app_with(serve, handler, path="/v1/thing", method="POST"):
    app = web.Application()
    app.router.add_route(method, path, handler)
    return await serve(app)


async def test_json_round_trip_and_typed_decode(serve):
    class Answer(msgspec.Struct):
        echo: dict
        n: int

    async def handler(request):
        return web.json_response({"echo": await request.json(), "n": 3})

    base = await app_with(serve, handler)
    async with HttpClient(base, {"Authorization": f"Bearer {KEY}"}) as client:
        answer = await client.request_json("POST", "/v1/thing", json={"a": [1, 2]}, type=Answer)
        assert answer == Answer(echo={"a": [1, 2]}, n=3)
        with pytest.raises(ProviderError, match="does not match the expected shape"):
            await client.request_json("POST", "/v1/thing", json={}, type=list[int])
    assert KEY not in repr(client)


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409])
async def test_retryable_statuses_then_success(serve, status):
    seen = []
    base = await app_with(
        serve, scripted([json_error(status, "busy"), json_error(status, "busy"), ok()], seen)
    )
    async with HttpClient(base, retry=FAST) as client:
        response = await client.request("POST", "/v1/thing", json={})
    assert response.status == 200 and len(seen) == 3


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured_capped_by_max_delay(serve, status):
    seen = []
    base = await app_with(
        serve, scripted([json_error(status, "slow down", {"Retry-After": "0.3"}), ok()], seen)
    )
    policy = RetryPolicy(max_attempts=2, initial_delay=0.001, max_delay=0.2)
    async with HttpClient(base, retry=policy) as client:
        started = time.monotonic()
        await client.request("POST", "/v1/thing")
        waited = time.monotonic() - started
    assert len(seen) == 2 and 0.19 <= waited < 1.0  # waited max_delay, not 0.001 or 0.3+


async def test_exhausted_retries_raise_the_typed_error_with_details(serve):
    seen = []
    base = await app_with(
        serve, scripted([json_error(429, f"quota for key {KEY}", {"Retry-After": "0"})], seen)
    )
    async with HttpClient(
        base, {"Authorization": f"Bearer {KEY}"}, retry=FAST, provider="openai"
    ) as client:
        with pytest.raises(RateLimitError) as info:
            await client.request("POST", "/v1/thing?key=" + KEY)
    error = info.value
    assert len(seen) == 4
    assert (error.status, error.request_id, error.provider, error.retry_after) == (
        429,
        "req_42",
        "openai",
        0.0,
    )
    assert "openai POST /v1/thing failed with 429: quota for key [REDACTED]" in str(error)
    assert KEY not in str(error) and KEY not in repr(error.args) and KEY not in (error.body or "")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (404, BadRequestError),
        (422, BadRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
    ],
)
async def test_other_4xx_are_never_retried(serve, status, kind):
    seen = []
    base = await app_with(serve, scripted([json_error(status, "nope")], seen))
    async with HttpClient(base, retry=FAST) as client:
        with pytest.raises(kind, match=f"failed with {status}: nope"):
            await client.request("POST", "/v1/thing")
    assert len(seen) == 1


async def test_error_message_shapes(serve):
    async def anthropic_shape(request):
        return web.json_response(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            status=529,
            headers={"request-id": "req_ant"},
        )

    async def plain_text(request):
        return web.Response(status=502, text="<html>bad gateway</html>")

    app = web.Application()
    app.router.add_post("/a", anthropic_shape)
    app.router.add_post("/b", plain_text)
    base = await serve(app)
    async with HttpClient(base, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ServerError, match="Overloaded") as info:
            await client.request("POST", "/a")
        assert info.value.request_id == "req_ant"
        with pytest.raises(ServerError, match="bad gateway"):
            await client.request("POST", "/b")


async def test_connection_reset_mid_body_is_retried(serve):
    seen = []

    async def broken(request):
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"x" * 10)
        request.transport.close()  # reset mid-body
        return response

    base = await app_with(serve, scripted([broken, ok({"fine": 1})], seen))
    async with HttpClient(base, retry=FAST) as client:
        response = await client.request("POST", "/v1/thing")
    assert response.json() == {"fine": 1} and len(seen) == 2


async def test_stalled_server_hits_the_read_timeout(serve):
    seen = []

    async def stall(request):
        await asyncio.sleep(5)
        return web.json_response({})

    base = await app_with(serve, scripted([stall], seen))
    async with HttpClient(
        base, timeouts=Timeouts(read=0.2), retry=RetryPolicy(max_attempts=2, initial_delay=0.01)
    ) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="timed out"):
            await client.request("POST", "/v1/thing")
    assert len(seen) == 2 and time.monotonic() - started < 2


async def test_connection_refused_is_a_connection_error():
    async with HttpClient("http://127.0.0.1:9", retry=FAST) as client:
        with pytest.raises(ConnectionError, match="HTTP GET /x failed"):
            await client.request("GET", "/x")


async def test_keep_alive_reuses_one_connection(serve):
    peers = set()

    async def handler(request):
        peers.add(request.transport.get_extra_info("peername"))
        return web.json_response({})

    base = await app_with(serve, handler, method="GET")
    async with HttpClient(base) as client:
        for _ in range(20):
            await client.request("GET", "/v1/thing")
    assert len(peers) == 1


async def test_response_size_limit(serve):
    async def big(request):
        return web.Response(body=b"x" * 5000)

    async def big_chunked(request):
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 1000)
        return response

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/chunked", big_chunked)
    base = await serve(app)
    async with HttpClient(base, max_response_bytes=4096) as client:
        for path in ("/big", "/chunked"):
            with pytest.raises(ProviderError, match="exceeds max_response_bytes=4096"):
                await client.request("GET", path)


def sse_handler(events, *, break_after=None, status=200):
    async def handler(request):
        response = web.StreamResponse(status=status, headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i, data in enumerate(events):
            if break_after is not None and i == break_after:
                request.transport.close()  # the chunked body never terminates
                return response
            await response.write(f"data: {data}\n\n".encode())
        await response.write_eof()
        return response

    return handler


async def test_stream_sse_and_retry_before_first_byte(serve):
    seen = []
    events = [f'{{"i": {i}}}' for i in range(5)]
    base = await app_with(
        serve, scripted([json_error(503, "warming up"), sse_handler(events)], seen)
    )
    async with HttpClient(base, retry=FAST) as client:
        got = [e.data async for e in client.stream_sse("POST", "/v1/thing", json={})]
    assert got == events and len(seen) == 2
    assert seen[1].headers["Accept"] == "text/event-stream"


async def test_a_json_answer_to_a_streaming_request_is_an_error(serve):
    base = await app_with(serve, scripted([ok({"error": {"message": "streaming disabled"}})], []))
    async with HttpClient(base, retry=FAST) as client:
        with pytest.raises(
            ProviderError,
            match="application/json where an event stream was expected: streaming disabled",
        ):
            [e async for e in client.stream_sse("POST", "/v1/thing")]


async def test_truncated_stream_delivers_events_then_raises(serve):
    seen = []
    base = await app_with(serve, scripted([sse_handler(["a", "b", "c", "d"], break_after=3)], seen))
    got = []
    async with HttpClient(base, retry=FAST) as client:
        with pytest.raises(StreamError, match="broke off after 3 events"):
            async for event in client.stream_sse("POST", "/v1/thing"):
                got.append(event.data)
    assert got == ["a", "b", "c"] and len(seen) == 1  # never retried once streaming


async def test_cancelling_a_stream_closes_it_and_the_client_goes_on(serve):
    finished = asyncio.Event()

    async def endless(request):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            while True:
                await response.write(b"data: tick\n\n")
                await asyncio.sleep(0.01)
        except (ConnectionResetError, asyncio.CancelledError):
            finished.set()
            raise

    app = web.Application()
    app.router.add_get("/stream", endless)

    async def ping(request):
        return web.json_response({"pong": True})

    app.router.add_get("/ping", ping)
    base = await serve(app)
    async with HttpClient(base) as client:
        received = []

        async def consume():
            async for event in client.stream_sse("GET", "/stream"):
                received.append(event)

        task = asyncio.create_task(consume())
        while len(received) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(finished.wait(), 2)  # the server saw the connection go
        assert (await client.request("GET", "/ping")).json() == {"pong": True}


def test_retry_policy_backoff_and_validation():
    policy = RetryPolicy(initial_delay=1, max_delay=5, multiplier=2, jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    jittered = RetryPolicy(initial_delay=1, max_delay=5)
    assert jittered.delay(3, rand=lambda: 0.5) == 2.0
    assert policy.delay(1, retry_after=30) == 5 and policy.delay(1, retry_after=-1) == 0
    for bad in ({"max_attempts": 0}, {"initial_delay": 0}, {"max_delay": -1}, {"multiplier": 0.5}):
        with pytest.raises(ValidationError):
            RetryPolicy(**bad)
    with pytest.raises(ValidationError, match=r"Timeouts\.read"):
        Timeouts(read=0)


def test_parse_retry_after():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    date = email.utils.formatdate(1_000_100, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=lambda: 1_000_000) == 100
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


async def test_aiohttp_errors_do_not_leak_through():
    async with HttpClient(retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ConnectionError):
            await client.request("GET", "http://127.0.0.1:9/")
    assert not issubclass(ConnectionError, aiohttp.ClientError)
