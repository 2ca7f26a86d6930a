"""A minimal OTLP/HTTP traces receiver for the span benchmarks: reads each POST body and
answers 200 with an empty ExportTraceServiceResponse. Run as ``python otlp_sink.py PORT``."""

import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=b"", content_type="application/x-protobuf")


if __name__ == "__main__":
    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/v1/traces", receive)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
