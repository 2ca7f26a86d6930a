import pytest

from mastra.cache import TTLCache
from mastra.errors import AuthenticationError, MastraError, ValidationError
from mastra.llm import (
    AnthropicModel,
    CachedModel,
    Finish,
    GoogleModel,
    JsonSchemaFormat,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    OpenAIChatModel,
    TextDelta,
    ToolCallEnd,
    ToolSpec,
    get_model,
)
from mastra.llm.testing import FunctionModel, TestModel, sample_from_schema
from mastra.messages import Message, ToolResult
from tests.servers import json_reply


@pytest.mark.parametrize(
    ("name", "cls", "provider", "url"),
    [
        ("openai/gpt-4o-mini", OpenAIChatModel, "openai", "https://api.openai.com/v1"),
        (
            "anthropic/claude-sonnet-4-6",
            AnthropicModel,
            "anthropic",
            "https://api.anthropic.com/v1",
        ),
        (
            "google/gemini-2.5-flash",
            GoogleModel,
            "google",
            "https://generativelanguage.googleapis.com/v1beta",
        ),
        ("groq/llama-3.3-70b-versatile", OpenAIChatModel, "groq", "https://api.groq.com/openai/v1"),
        ("ollama/llama3.2", OpenAIChatModel, "ollama", "http://localhost:11434/v1"),
        ("deepseek/deepseek-chat", OpenAIChatModel, "deepseek", "https://api.deepseek.com/v1"),
        (
            "openrouter/meta-llama/llama-3.3-70b",
            OpenAIChatModel,
            "openrouter",
            "https://openrouter.ai/api/v1",
        ),
        ("together/x", OpenAIChatModel, "together", "https://api.together.xyz/v1"),
        ("vllm/qwen", OpenAIChatModel, "vllm", "http://localhost:8000/v1"),
        ("lmstudio/qwen", OpenAIChatModel, "lmstudio", "http://localhost:1234/v1"),
    ],
)
def test_router(name, cls, provider, url):
    model = get_model(name)
    assert isinstance(model, cls) and model.provider == provider and model.base_url == url
    assert model.name == name


def test_router_errors_and_custom_servers():
    with pytest.raises(ValidationError, match="should look like 'provider/model'"):
        get_model("gpt-4o")
    with pytest.raises(ValidationError, match=r"unknown provider 'acme'.*anthropic, deepseek"):
        get_model("acme/model")
    custom = get_model("acme/model", base_url="http://127.0.0.1:9/v1")
    assert isinstance(custom, OpenAIChatModel) and custom.base_url == "http://127.0.0.1:9/v1"
    assert get_model("openai/x").max_tokens_field == "max_completion_tokens"
    assert get_model("groq/x").max_tokens_field == "max_tokens"


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("anthropic/claude-sonnet-4-6", "ANTHROPIC_API_KEY"),
        ("google/gemini-2.5-flash", "GOOGLE_GENERATIVE_AI_API_KEY or GEMINI_API_KEY"),
        ("groq/llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ],
)
async def test_missing_keys_name_the_variables(monkeypatch, name, variable):
    for var in (
        "ANTHROPIC_API_KEY",
        "GOOGLE_GENERATIVE_AI_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GROQ_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    model = get_model(name)
    with pytest.raises(AuthenticationError, match=variable):
        await model.generate(ModelRequest(messages=[Message.user("hi")]))


async def test_keys_come_from_the_environment(provider_server, monkeypatch):
    url, script = await provider_server("/v1")
    script.add(
        json_reply(
            {
                "id": "x",
                "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
            }
        )
    )
    monkeypatch.setenv("GROQ_API_KEY", "gsk_fromenvironment000000000000")
    model = get_model("groq/llama", base_url=url)
    assert (await model.generate(ModelRequest(messages=[Message.user("hi")]))).text == "ok"
    assert (
        script.requests[0]["headers"]["Authorization"] == "Bearer gsk_fromenvironment000000000000"
    )
    await model.close()


async def test_response_cache(provider_server):
    url, script = await provider_server("/v1")
    script.add(
        json_reply(
            {
                "id": "x",
                "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
            }
        )
    )
    cache = TTLCache(maxsize=10, ttl=60)
    model = get_model("openai/gpt-4o-mini", api_key="sk-1", base_url=url, cache=cache)
    assert isinstance(model, CachedModel)
    request = ModelRequest(messages=[Message.user("hello")], settings=ModelSettings(temperature=0))
    first, second = await model.generate(request), await model.generate(request)
    assert first == second and len(script.requests) == 1
    await model.generate(
        ModelRequest(messages=[Message.user("hello")], settings=ModelSettings(temperature=1))
    )
    assert len(script.requests) == 2  # other settings, other key
    assert all("sk-1" not in key for key in cache)
    await model.close()


async def test_test_model_calls_each_tool_then_answers():
    model = TestModel()
    tools = [
        ToolSpec(
            "add",
            parameters={
                "type": "object",
                "properties": {
                    "a": {"type": "integer", "minimum": 2},
                    "b": {"type": "number"},
                    "op": {"enum": ["+", "-"]},
                },
                "required": ["a", "b", "op"],
            },
        ),
        ToolSpec("ping"),
    ]
    first = await model.generate(ModelRequest(messages=[Message.user("go")], tools=tools))
    assert [(c.name, c.arguments) for c in first.message.tool_calls] == [
        ("add", {"a": 2, "b": 0.0, "op": "+"}),
        ("ping", {}),
    ]
    results = Message.tool([ToolResult("call_0", "add", 2.0), ToolResult("call_1", "ping", "pong")])
    second = await model.generate(
        ModelRequest(messages=[Message.user("go"), first.message, results], tools=tools)
    )
    assert second.text == '{"add":2.0,"ping":"pong"}' and second.finish_reason == "stop"
    structured = await TestModel(call_tools=False).generate(
        ModelRequest(
            messages=[Message.user("x")],
            response_format=JsonSchemaFormat(
                "s", {"type": "object", "properties": {"ok": {"type": "boolean"}}}
            ),
        )
    )
    assert structured.text == '{"ok":false}'
    events = [
        e async for e in model.stream(ModelRequest(messages=[Message.user("go")], tools=tools))
    ]
    assert [e.tool_call.name for e in events if isinstance(e, ToolCallEnd)] == ["add", "ping"]
    assert isinstance(events[-1], Finish) and events[-1].response == first


async def test_function_model_sync_and_async():
    seen = []

    def answer(request):
        seen.append(request)
        return "hello there world"

    async def full(request):
        return ModelResponse(message=Message.assistant("x"), finish_reason="length")

    model = FunctionModel(answer)
    request = ModelRequest(messages=[Message.user("hi")])
    assert (await model.generate(request)).text == "hello there world" and seen == [request]
    deltas = [e.text async for e in model.stream(request) if isinstance(e, TextDelta)]
    assert deltas == ["hello ", "there ", "world"]
    assert (await FunctionModel(full).generate(request)).finish_reason == "length"
    with pytest.raises(MastraError, match="inside a running event loop"):
        model.generate_sync(request)


def test_generate_sync_outside_a_loop():
    model = FunctionModel(lambda request: "sync answer")
    assert model.generate_sync(ModelRequest(messages=[Message.user("hi")])).text == "sync answer"


def test_sample_from_schema_shapes():
    assert sample_from_schema(
        {"type": "array", "items": {"type": "string", "minLength": 3}, "minItems": 2}
    ) == ["aaa", "aaa"]
    assert sample_from_schema({"anyOf": [{"type": "null"}, {"type": "integer"}]}) == 0
    assert sample_from_schema({"type": ["null", "boolean"]}) is False
    assert sample_from_schema({"const": 5}) == 5


CLAUDE_REPLY = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": "pong"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


@pytest.mark.parametrize("suffix", ["", "/", "/v1"])
async def test_anthropic_base_url_as_the_official_sdk_reads_it(
    provider_server, monkeypatch, suffix
):
    """ANTHROPIC_BASE_URL without /v1 is what the anthropic SDK expects; both forms work."""
    from anthropic import AsyncAnthropic

    url, script = await provider_server()
    script.add(json_reply(CLAUDE_REPLY))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url + suffix)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-000000000000")
    model = get_model("anthropic/claude-sonnet-4-6")
    assert (await model.generate(ModelRequest(messages=[Message.user("ping")]))).text == "pong"
    await model.close()
    if suffix != "/v1":  # the SDK's own form: it adds /v1 itself
        client = AsyncAnthropic(max_retries=0)
        await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": "ping"}]
        )
        await client.close()
    assert {r["path"] for r in script.requests} == {"/v1/messages"}


@pytest.mark.parametrize("variable", ["GOOGLE_BASE_URL", "GOOGLE_GEMINI_BASE_URL"])
async def test_google_base_url_without_the_api_version(provider_server, monkeypatch, variable):
    url, script = await provider_server()
    script.add(
        json_reply(
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": "pong"}]},
                        "finishReason": "STOP",
                    }
                ]
            }
        )
    )
    monkeypatch.setenv(variable, url)
    model = get_model("google/gemini-2.5-flash", api_key="AIza-test")
    assert (await model.generate(ModelRequest(messages=[Message.user("ping")]))).text == "pong"
    assert script.requests[0]["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    await model.close()
