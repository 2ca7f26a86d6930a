"""A local OTLP/HTTP collector for the tests: aiohttp on 127.0.0.1, decoding each protobuf
ExportTraceServiceRequest with opentelemetry-proto into plain span dicts."""

import asyncio
import socket
import time

from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def _attributes(pairs):
    return {pair.key: _value(pair.value) for pair in pairs}


class Collector:
    """Receives spans at ``{url}``; ``spans`` holds them as dicts, in arrival order. Each
    request's headers, body (decompressed) and arrival time are kept; ``answers`` scripts
    error replies, ``(status, headers)``, given before the next successes."""

    def __init__(self):
        self.spans = []
        self.requests = 0
        self.headers = []
        self.bodies = []
        self.times = []
        self.answers = []
        self.arrived = asyncio.Event()

    async def handle(self, request):
        assert request.content_type == "application/x-protobuf"
        body = await request.read()
        self.requests += 1
        self.headers.append(dict(request.headers))
        self.bodies.append(body)
        self.times.append(time.monotonic())
        if self.answers:
            status, headers = self.answers.pop(0)
            return web.Response(status=status, headers=headers)
        message = ExportTraceServiceRequest.FromString(body)
        for resource_spans in message.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_id": span.parent_span_id.hex() or None,
                            "kind": span.kind,
                            "status": span.status.code,
                            "status_message": span.status.message,
                            "attributes": _attributes(span.attributes),
                            "events": [(e.name, _attributes(e.attributes)) for e in span.events],
                            "resource": resource,
                            "scope": scope_spans.scope.name,
                            "start_ns": span.start_time_unix_nano,
                            "end_ns": span.end_time_unix_nano,
                        }
                    )
        self.arrived.set()
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )


async def start_collector():
    """(collector, server); the traces URL is ``server.make_url('/v1/traces')``."""
    collector = Collector()
    app = web.Application()
    app.router.add_post("/v1/traces", collector.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return collector, server


def dead_url():
    """A traces URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/traces"
