"""The benchmark stream: an OpenAI chat-completions stream of N chunks, and a server for it.

Run as a script to serve it: python benches/sse_stream.py PORT N
"""

import sys

import orjson

CHUNK_TEMPLATE = {
    "id": "chatcmpl-AbCdEf0123456789",
    "object": "chat.completion.chunk",
    "created": 1764115200,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_0123456789",
    "choices": [{"index": 0, "delta": {"content": ""}, "logprobs": None, "finish_reason": None}],
}
WORDS = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."]


def openai_stream(n: int) -> bytes:
    parts = []
    for i in range(n):
        chunk = dict(CHUNK_TEMPLATE)
        chunk["choices"] = [
            {
                "index": 0,
                "delta": {"content": WORDS[i % len(WORDS)]},
                "logprobs": None,
                "finish_reason": None,
            }
        ]
        parts.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def chunked(body: bytes, size: int = 1024) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def serve(port: int, n: int) -> None:
    from aiohttp import web

    body = openai_stream(n)
    pieces = chunked(body, 16 * 1024)

    async def completions(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
