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


def openai_stream_with_tool(n: int) -> bytes:
    """n one-token content chunks, then a tool call whose arguments arrive in pieces, then
    the usage chunk: what a tool-using chat completion streams."""

    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        body = {
            **CHUNK_TEMPLATE,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"content": WORDS[i % len(WORDS)]}) for i in range(n)]
    parts.append(
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": ""},
                    }
                ]
            }
        )
    )
    args = orjson.dumps({"query": "quick brown fox", "limit": 10}).decode()
    parts += [
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 4]}}]})
        for i in range(0, len(args), 4)
    ]
    parts.append(chunk({}, "tool_calls"))
    usage = {
        **CHUNK_TEMPLATE,
        "choices": [],
        "usage": {"prompt_tokens": 50, "completion_tokens": n, "total_tokens": n + 50},
    }
    parts.append(b"data: " + orjson.dumps(usage) + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def anthropic_stream_with_tool(n: int) -> bytes:
    """The Messages API event sequence for n text deltas and a tool_use block."""

    def event(kind: str, body: dict[str, object]) -> bytes:
        return (
            f"event: {kind}\n".encode() + b"data: " + orjson.dumps({"type": kind, **body}) + b"\n\n"
        )

    parts = [
        event(
            "message_start",
            {
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-6",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 50, "output_tokens": 1},
                }
            },
        ),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {}),
    ]
    parts += [
        event(
            "content_block_delta",
            {"index": 0, "delta": {"type": "text_delta", "text": WORDS[i % len(WORDS)]}},
        )
        for i in range(n)
    ]
    parts.append(event("content_block_stop", {"index": 0}))
    parts.append(
        event(
            "content_block_start",
            {
                "index": 1,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "lookup",
                    "input": {},
                },
            },
        )
    )
    args = orjson.dumps({"query": "quick brown fox", "limit": 10}).decode()
    parts += [
        event(
            "content_block_delta",
            {"index": 1, "delta": {"type": "input_json_delta", "partial_json": args[i : i + 4]}},
        )
        for i in range(0, len(args), 4)
    ]
    parts.append(event("content_block_stop", {"index": 1}))
    parts.append(
        event(
            "message_delta",
            {
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": n},
            },
        )
    )
    parts.append(event("message_stop", {}))
    return b"".join(parts)


def chunked(body: bytes, size: int = 1024) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def serve(port: int, n: int) -> None:
    from aiohttp import web

    bodies = {
        "/v1/chat/completions": chunked(openai_stream(n), 16 * 1024),
        "/v1/tools/chat/completions": chunked(openai_stream_with_tool(n), 16 * 1024),
        "/v1/messages": chunked(anthropic_stream_with_tool(n), 16 * 1024),
    }

    async def stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in bodies[request.path]:
            await response.write(piece)
        await response.write_eof()
        return response

    app = web.Application()
    for path in bodies:
        app.router.add_post(path, stream)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
