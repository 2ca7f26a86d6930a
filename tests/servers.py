"""Scripted local provider servers for the provider and agent tests."""

from aiohttp import web


class Scripted:
    """A local provider: records each request and answers with the next scripted reply."""

    def __init__(self):
        self.replies = []
        self.requests = []

    def add(self, reply):
        self.replies.append(reply)
        return self

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.requests.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "json": body,
            }
        )
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return await reply(request)


def json_reply(payload, status=200, headers=None):
    async def reply(request):
        return web.json_response(payload, status=status, headers=headers)

    return reply


def sse_reply(events, done=True, event_names=None):
    """Serve ``events`` (JSON strings) as SSE; ``event_names`` adds ``event:`` lines."""

    async def reply(request):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i, data in enumerate(events):
            name = f"event: {event_names[i]}\n" if event_names else ""
            await response.write(f"{name}data: {data}\n\n".encode())
        if done:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    return reply
