"""SSE decoding beside httpx-sse and the official openai SDK, on the same bytes.

1. Decoder alone: a 50k-event OpenAI chat-completions stream (~12 MB) fed in 1 KiB chunks;
   a bare ``bytes.split`` on blank lines is the floor.
2. End to end: a local aiohttp server (another process) streams 20k chunks; the client's CPU
   time per event through HttpClient + aiter_sse + a typed msgspec decode, beside the openai
   SDK's ``chat.completions.create(stream=True)`` on the same server.
"""

import asyncio
import codecs
import os
import sys
import time

import msgspec
import pytest
from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder
from openai._streaming import SSEDecoder as OpenAISSEDecoder

sys.path.insert(0, os.path.dirname(__file__))
from mastra.http import HttpClient
from mastra.sse import SSEDecoder
from sse_stream import chunked, openai_stream

EVENTS = 50_000
BODY = openai_stream(EVENTS)
CHUNKS = chunked(BODY, 1024)


def mastra_decode():
    decoder = SSEDecoder()
    count = 0
    for chunk in CHUNKS:
        count += len(decoder.feed(chunk))
    return count


def httpx_sse_decode():
    text_decoder = codecs.getincrementaldecoder("utf-8")("replace")
    lines, events = SSELineDecoder(), HttpxSSEDecoder()
    count = 0
    for chunk in CHUNKS:
        for line in lines.decode(text_decoder.decode(chunk)):
            if events.decode(line) is not None:
                count += 1
    return count


def openai_decode():
    return sum(1 for _ in OpenAISSEDecoder().iter_bytes(iter(CHUNKS)))


def bytes_split():
    return len(b"".join(CHUNKS).split(b"\n\n")) - 1


DECODERS = {
    "mastra": mastra_decode,
    "httpx-sse": httpx_sse_decode,
    "openai-sdk": openai_decode,
    "bytes.split (floor)": bytes_split,
}


@pytest.mark.parametrize("name", list(DECODERS))
def test_decode_50k_events(benchmark, name):
    run = DECODERS[name]
    assert run() == EVENTS + 1  # every chunk plus [DONE]
    benchmark.group = "SSE decode, 50k OpenAI chunks in 1 KiB pieces"
    benchmark.pedantic(run, rounds=7, warmup_rounds=1)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["MB/s"] = round(len(BODY) / seconds / 1e6, 1)
    benchmark.extra_info["M events/s"] = round((EVENTS + 1) / seconds / 1e6, 2)


# -- end to end --------------------------------------------------------------------------

E2E_EVENTS = STREAM_EVENTS = 20_000


class Delta(msgspec.Struct):
    content: str | None = None


class Choice(msgspec.Struct):
    index: int
    delta: Delta
    finish_reason: str | None = None


class ChatChunk(msgspec.Struct):
    id: str
    choices: list[Choice]


async def mastra_stream(url):
    decode = msgspec.json.Decoder(ChatChunk).decode
    text = []
    async with HttpClient(url, {"Authorization": "Bearer sk-local"}) as client:
        async for event in client.stream_sse(
            "POST", "/chat/completions", json={"model": "m", "stream": True}
        ):
            if event.data == "[DONE]":
                break
            text.append(decode(event.data).choices[0].delta.content)
    return len(text)


async def openai_sdk_stream(url):
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="sk-local", max_retries=0)
    text = []
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async for chunk in stream:
        text.append(chunk.choices[0].delta.content)
    await client.close()
    return len(text)


@pytest.mark.parametrize("name", ["mastra", "openai-sdk"])
def test_end_to_end_cpu_per_event(benchmark, stream_server, name):
    consume = mastra_stream if name == "mastra" else openai_sdk_stream
    cpu = []

    def run():
        started = time.process_time()
        count = asyncio.run(consume(stream_server + "/v1"))
        cpu.append(time.process_time() - started)
        assert count == E2E_EVENTS

    benchmark.group = f"end to end, {E2E_EVENTS} streamed chunks (client CPU)"
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    cpu.sort()
    benchmark.extra_info["client CPU us/event"] = round(cpu[len(cpu) // 2] / E2E_EVENTS * 1e6, 2)
