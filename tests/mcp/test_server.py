"""MCPServer against the SDK's own ClientSession, over stdio (``mastra mcp serve``, a real
process) and over Streamable HTTP mounted in our aiohttp server (real HTTP on loopback)."""

import contextlib
import sys
import time

import httpx2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mastra.agent import Agent
from mastra.cli import main
from mastra.errors import ConnectionError, ValidationError
from mastra.mcp import HttpServer, MCPClient, MCPServer, mcp_path, mount
from mastra.messages import ToolCall
from mastra.server import ApiKeyAuth, create_app
from mastra.workflows import Workflow, step
from tests.mcp import app as example
from tests.mcp.conftest import ROOT
from tests.mcp.test_client import calling

TOOLS = {"multiply", "count", "explode", "ask_echo", "run_orders", "run_shout"}


def text(result):
    assert len(result.content) == 1
    return result.content[0].text


async def exercise(session: ClientSession) -> None:
    """What every transport must do: list, call, validate, report progress, fail cleanly."""
    listed = {t.name: t for t in (await session.list_tools()).tools}
    assert set(listed) == TOOLS
    assert listed["multiply"].input_schema == example.multiply.parameters
    assert listed["multiply"].description == "Multiply two integers."
    assert listed["run_orders"].input_schema["required"] == ["item", "quantity"]

    result = await session.call_tool("multiply", {"a": 3, "b": 4})
    assert (text(result), result.is_error) == ("12", False)
    assert result.structured_content == {"result": 12}

    invalid = await session.call_tool("multiply", {"a": "x", "b": 4})
    assert invalid.is_error
    assert (
        text(invalid)
        == "invalid arguments for tool 'multiply': Expected `int`, got `str` - at `$.a`"
    )

    reports = []

    async def progress(done, total, message):
        reports.append((done, total, message))

    counted = await session.call_tool("count", {"to": 3}, progress_callback=progress)
    assert text(counted) == "counted to 3"
    assert reports == [(float(n), 3.0, f"counted {n}") for n in (1, 2, 3)]

    failed = await session.call_tool("explode", {"reason": "fuse"})
    assert failed.is_error
    assert text(failed) == "tool 'explode' failed: RuntimeError: exploded: fuse"

    assert text(await session.call_tool("ask_echo", {"prompt": "hi"})) == "echo: hi"
    order = await session.call_tool("run_orders", {"item": "tea", "quantity": 2})
    assert order.structured_content == {"item": "tea", "total": 6}
    assert text(await session.call_tool("run_shout", {"input": "hey"})) == "HEY"
    incomplete = await session.call_tool("run_orders", {"item": "tea"})
    assert incomplete.is_error and "quantity" in text(incomplete)

    with pytest.raises(MCPError, match="unknown tool 'nope'; tools: ask_echo, count"):
        await session.call_tool("nope", {})


async def test_the_sdks_client_session_over_stdio():
    command = ["-m", "mastra.cli", "mcp", "serve", "tests.mcp.app:mastra", "--name", "shop"]
    params = StdioServerParameters(command=sys.executable, args=command, cwd=str(ROOT))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        started = await session.initialize()
        assert started.server_info.name == "shop"
        await exercise(session)


@contextlib.asynccontextmanager
async def running(app, path):
    """``app`` on 127.0.0.1; yields (server, the URL of ``path``)."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server, str(server.make_url(path))
    finally:
        await server.close()


def serving(app, mcp_server):
    """``app`` with ``mcp_server`` mounted by hand."""
    return running(app, mount(app, mcp_server))


def shop(**options):
    """Our HTTP server for the example app, serving the app as the MCP server "shop"."""
    mcp_server = MCPServer.from_mastra(example.mastra, "shop")
    app = create_app(example.mastra, mcp_servers=[mcp_server], **options)
    return running(app, mcp_path(mcp_server.id))


async def test_the_sdks_client_session_over_http_mounted_in_the_server():
    async with (
        shop(auth=ApiKeyAuth(["k3y"])) as (server, url),
        httpx2.AsyncClient(headers={"X-API-Key": "k3y"}) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        assert url.endswith("/api/mcp/shop/mcp")
        assert (await session.initialize()).server_info.name == "shop"
        await exercise(session)
        started = time.monotonic()
        await server.close()  # the session's open stream must not hold the shutdown
        assert time.monotonic() - started < 5


async def test_our_client_and_agent_against_our_server_over_http():
    async with shop(auth=ApiKeyAuth(["k3y"])) as (_, url):
        async with MCPClient({"shop": HttpServer(url, {"X-API-Key": "k3y"})}) as mcp:
            tools = await mcp.tools()
            assert {t.id for t in tools} == {f"shop_{name}" for name in TOOLS}
            agent = Agent(
                "x", "", calling("shop_run_orders", {"item": "a", "quantity": 3}), tools=tools
            )
            assert (await agent.generate("go")).text == "result: {'item': 'a', 'total': 9}"
        async with MCPClient({"shop": HttpServer(url)}) as anonymous:
            with pytest.raises(ConnectionError, match="cannot connect to MCP server 'shop'"):
                await anonymous.tools()


def test_mastras_route_for_mcp_servers():
    assert mcp_path("docs") == "/api/mcp/docs/mcp"
    assert mcp_path("docs", "/v2") == "/v2/mcp/docs/mcp"
    app = web.Application()
    assert mount(app, MCPServer("Docs Server")) == "/api/mcp/docs-server/mcp"
    assert mount(app, MCPServer("b", id="b2"), prefix="/x") == "/x/mcp/b2/mcp"
    assert mount(app, MCPServer("c"), "/custom") == "/custom"
    paths = {r.resource.canonical for r in app.router.routes()}
    assert paths == {"/api/mcp/docs-server/mcp", "/x/mcp/b2/mcp", "/custom"}
    with pytest.raises(ValidationError, match="takes an MCPServer, got Mastra"):
        mount(app, example.mastra)


def test_server_arguments_are_checked():
    with pytest.raises(ValidationError, match="two tools named 'multiply'"):
        MCPServer("s", tools=[example.multiply, example.multiply])
    with pytest.raises(ValidationError, match="non-empty name"):
        MCPServer("")
    with pytest.raises(ValidationError, match="URL path segment"):
        MCPServer("s", id="a/b")
    server = MCPServer.from_mastra(example.mastra)
    assert (server.name, server.id) == ("mastra", "mastra")
    assert set(server.tools) == TOOLS


def test_mcp_serve_names_a_bad_target(capsys):
    assert main(["mcp", "serve", "no_such_module:mastra"]) == 2
    assert "cannot import 'no_such_module'" in capsys.readouterr().err


async def test_a_workflow_that_fails_is_a_tool_error():
    @step
    async def refuse(ctx, data: int) -> int:
        raise RuntimeError("no stock")

    server = MCPServer("s", workflows=[Workflow("buy", input=int).then(refuse).commit()])
    async with (
        serving(web.Application(), server) as (_, url),
        MCPClient({"s": HttpServer(url)}) as mcp,
    ):
        (buy,) = await mcp.tools()
        outcome = await buy.run(ToolCall("c", "s_run_buy", {"input": 1}))
    assert outcome.result.is_error
    assert "workflow 'buy' failed" in outcome.error and "no stock" in outcome.error
