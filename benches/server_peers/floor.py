"""The floor: a bare aiohttp app answering with bytes our server sent, read from files once:
``/generate`` our generate's JSON, ``/stream`` our stream's SSE frames (one ``write`` each),
``/hold`` its first frame, then nothing until the client goes away.

Run: python -m server_peers.floor PORT GENERATE_BODY_FILE STREAM_BODY_FILE
"""

import asyncio
import sys
from pathlib import Path

from aiohttp import web


def frames(sse: bytes) -> list[bytes]:
    return [frame + b"\n\n" for frame in sse.split(b"\n\n") if frame]


def main(port: int, generate_file: str, stream_file: str) -> None:
    body = Path(generate_file).read_bytes()
    stream_frames = frames(Path(stream_file).read_bytes())

    async def generate(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    async def stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for frame in stream_frames:
            await response.write(frame)
        await response.write_eof()
        return response

    async def hold(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(stream_frames[0])
        await asyncio.Event().wait()
        return response

    app = web.Application()
    app.router.add_post("/generate", generate)
    app.router.add_post("/stream", stream)
    app.router.add_post("/hold", hold)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=2,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
