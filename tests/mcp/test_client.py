"""MCPClient against real servers: the SDK's own server over stdio and Streamable HTTP (one
connection of each, shared by the module), an agent on a FunctionModel using their tools."""

import asyncio
import copy

import pytest
import pytest_asyncio

from mastra.agent import Agent, ToolProgress
from mastra.errors import ConnectionError, NotFoundError, ToolError, ValidationError
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.mcp import HttpServer, MCPClient, MCPTool, StdioServer
from mastra.messages import Message, ToolCall, Usage
from tests.mcp.conftest import fast_stdio

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVERS = ["fast", "web"]  # stdio, Streamable HTTP


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(http_fast):
    async with MCPClient(servers={"fast": fast_stdio(), "web": http_fast}) as mcp:
        yield mcp


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tools(client):
    return {t.id: t for t in await client.tools()}


def calling(name, arguments):
    """A model that calls ``name`` once, then answers with what the tool returned."""

    def brain(request):
        last = request.messages[-1]
        if last.role == "tool":
            result = last.tool_results[0]
            prefix = "error: " if result.is_error else "result: "
            return prefix + str(result.content)
        return ModelResponse(
            message=Message.assistant(None, [ToolCall("c1", name, arguments)]),
            usage=Usage(1, 1, 0, 2),
            finish_reason="tool_calls",
        )

    return FunctionModel(brain)


async def test_tools_are_namespaced_and_keep_the_servers_schemas(tools):
    for server in SERVERS:
        add = tools[f"{server}_add"]
        assert isinstance(add, MCPTool)
        assert (add.server, add.name) == (server, "add")
        assert add.description == "Add two integers."
        assert add.parameters["required"] == ["a", "b"]
        assert add.parameters["properties"]["a"]["type"] == "integer"
        assert add.spec.parameters is add.parameters
    assert {f"{s}_{n}" for s in SERVERS for n in ("pid", "fail", "slow")} <= set(tools)


@pytest.mark.parametrize("server", SERVERS)
async def test_an_agent_on_a_function_model_calls_an_mcp_tool(tools, server):
    agent = Agent(
        "adder", "Add.", calling(f"{server}_add", {"a": 2, "b": 40}), tools=list(tools.values())
    )
    result = await agent.generate("2 + 40?")
    assert result.text == "result: {'result': 42}"
    assert result.steps[0].tool_results[0].content == {"result": 42}
    assert not result.steps[0].tool_results[0].is_error


@pytest.mark.parametrize("server", SERVERS)
async def test_a_tool_error_goes_back_to_the_model(tools, server):
    agent = Agent(
        "x",
        "",
        calling(f"{server}_fail", {"message": "disk full"}),
        tools=[tools[f"{server}_fail"]],
    )
    result = await agent.generate("go")
    assert result.text.startswith("error: ")
    assert "disk full" in result.text
    assert result.steps[0].tool_results[0].is_error


async def test_invalid_arguments_are_the_servers_to_reject(tools):
    agent = Agent("x", "", calling("fast_add", {"a": "two"}), tools=[tools["fast_add"]])
    result = await agent.generate("go")
    assert result.text.startswith("error: ")
    assert "validation error" in result.text and "b" in result.text


async def test_arguments_that_are_not_an_object_never_reach_the_server(tools):
    outcome = await tools["fast_add"].run(ToolCall("c", "fast_add", raw_arguments="[1, 2]"))
    assert outcome.invalid_arguments
    assert "not a JSON object" in outcome.error


@pytest.mark.parametrize("server", SERVERS)
async def test_a_timeout_goes_back_to_the_model_and_the_connection_survives(client, tools, server):
    slow = copy.copy(tools[f"{server}_slow"])
    slow.timeout = 0.5
    agent = Agent("x", "", calling(slow.id, {"steps": 1, "delay": 5}), tools=[slow])
    pid_before = await client.call_tool(server, "pid")
    result = await agent.generate("go")
    assert result.text.startswith("error: ")
    assert f"MCP server {server!r} did not answer tools/call 'slow' within 0.5 s" in result.text
    assert await client.call_tool(server, "pid") == pid_before  # the same connection


@pytest.mark.parametrize("server", SERVERS)
async def test_progress_notifications_reach_the_tool_context(tools, server):
    agent = Agent(
        "x", "", calling(f"{server}_slow", {"steps": 3, "delay": 0}), tools=list(tools.values())
    )
    events = [e async for e in agent.stream("go")]
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert [p.message for p in progress] == [f"step {n} of 3" for n in (1, 2, 3)]
    assert [p.data for p in progress] == [{"progress": float(n), "total": 3.0} for n in (1, 2, 3)]


async def test_call_tool_directly_with_a_progress_callback(client):
    seen = []
    result = await client.call_tool(
        "fast", "slow", {"steps": 2, "delay": 0}, progress=lambda m, **d: seen.append(m)
    )
    assert result == {"result": "done after 2 steps"}
    assert seen == ["step 1 of 2", "step 2 of 2"]
    with pytest.raises(ToolError, match="disk full"):
        await client.call_tool("web", "fail", {"message": "disk full"})
    with pytest.raises(ToolError, match="Unknown tool: nope"):
        await client.call_tool("fast", "nope")
    with pytest.raises(NotFoundError, match="unknown MCP server 'slack'; servers: fast, web"):
        await client.call_tool("slack", "post")


async def test_resources_and_prompts(client):
    resources = await client.resources()
    assert {(r.server, r.uri, r.mime_type) for r in resources} == {
        (s, "config://app", "application/json") for s in SERVERS
    }
    assert resources[0].description == "The app's settings."
    (content,) = await client.read_resource("web", "config://app")
    assert content.text == '{"mode": "test"}' and content.data is None
    prompts = await client.prompts("fast")
    assert [(p.name, [(a.name, a.required) for a in p.arguments]) for p in prompts] == [
        ("review", [("code", True)])
    ]
    messages = await client.get_prompt("fast", "review", {"code": "x = 1"})
    assert messages == [Message.user("Please review this code:\nx = 1")]


async def test_a_server_with_500_tools():
    async with MCPClient({"big": fast_stdio("--tools", "500")}) as mcp:
        found = await mcp.tools()
        assert len(found) == 504  # add, pid, fail, slow and 500 more
        assert len({t.id for t in found}) == 504
        last = next(t for t in found if t.id == "big_tool_499")
        outcome = await last.run(ToolCall("c", last.id, {"x": 1}))
        assert outcome.result.content == {"result": 500}


async def test_server_specs_are_checked():
    with pytest.raises(ValidationError, match="needs a command"):
        StdioServer("")
    with pytest.raises(ValidationError, match="sequence of strings"):
        StdioServer("npx", "server-fs")
    with pytest.raises(ValidationError, match="http:// or https://"):
        HttpServer("localhost:8000/mcp")
    with pytest.raises(ValidationError, match="positive number of seconds"):
        HttpServer("http://x/mcp", timeout=0)
    with pytest.raises(ValidationError, match="at least one"):
        MCPClient({})
    with pytest.raises(ValidationError, match="letters, digits"):
        MCPClient({"my server": StdioServer("x")})
    with pytest.raises(ValidationError, match="expected StdioServer or HttpServer"):
        MCPClient({"fs": "npx server-fs"})
    assert "secret" not in repr(HttpServer("http://x/mcp", {"Authorization": "secret"}))
    assert "secret" not in repr(StdioServer("npx", ["server"], {"TOKEN": "secret"}))


async def test_a_server_that_cannot_start_is_reported_clearly():
    async with MCPClient({"nope": StdioServer("/no/such/mcp-server", ("--token", "s3cret"))}) as m:
        with pytest.raises(ConnectionError) as caught:
            await m.tools()
    message = str(caught.value)
    assert "cannot connect to MCP server 'nope' (command '/no/such/mcp-server')" in message
    assert "No such file" in message and "s3cret" not in message
    web = MCPClient({"down": HttpServer("http://127.0.0.1:9/mcp", timeout=5)})
    with pytest.raises(ConnectionError, match=r"cannot connect to MCP server 'down' \(http"):
        await web.tools()
    await web.aclose()


async def test_concurrent_first_calls_share_one_connection():
    async with MCPClient({"fast": fast_stdio()}) as mcp:
        pids = await asyncio.gather(*(mcp.call_tool("fast", "pid") for _ in range(5)))
    assert len({p["result"] for p in pids}) == 1
