import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer


@pytest.fixture
async def serve():
    """Start an aiohttp app on 127.0.0.1 (a real socket) and return its base URL."""
    servers = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()
