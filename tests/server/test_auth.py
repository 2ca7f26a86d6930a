"""API keys and JWTs (HS256 with a secret; RS256 with keys from a JWKS URL served here), public
routes, 401 vs 403, and the caller's claims reaching a tool."""

import time

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from mastra import Agent, Mastra, tool
from mastra.errors import ConfigError
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall
from mastra.server import ApiKeyAuth, JWTAuth
from mastra.tools import ToolContext


@tool
def whoami(ctx: ToolContext) -> str:
    """Who is asking."""
    return str(ctx.context.get("auth", {}).get("sub", "nobody"))


def ask_whoami(request):
    last = request.messages[-1]
    if last.role == "tool":
        return f"you are {last.tool_results[0].content}"
    return ModelResponse(
        message=Message.assistant(None, [ToolCall("c1", "whoami", {})]), finish_reason="tool_calls"
    )


def registry():
    return Mastra(agents=[Agent("who", "x", FunctionModel(ask_whoami), tools=[whoami])])


async def test_api_keys(client):
    only_reads = ApiKeyAuth(
        {"sk-admin": {"sub": "admin"}, "sk-reader": {"sub": "reader"}},
        authorize=lambda claims, request: claims["sub"] == "admin" or request.method == "GET",
    )
    api = await client(registry(), auth=only_reads)
    assert (await api.get("/health")).status == 200  # public
    missing = await api.get("/api/agents")
    assert missing.status == 401 and "missing credentials" in await missing.text()
    wrong = await api.get("/api/agents", headers={"Authorization": "Bearer sk-nope"})
    assert wrong.status == 401 and "sk-nope" not in await wrong.text()
    assert (await api.get("/api/agents", headers={"X-API-Key": "sk-reader"})).status == 200
    refused = await api.post(
        "/api/agents/who/generate", json={"messages": "?"}, headers={"X-API-Key": "sk-reader"}
    )
    assert refused.status == 403
    answer = await api.post(
        "/api/agents/who/generate",
        json={"messages": "?"},
        headers={"Authorization": "Bearer sk-admin"},
    )
    assert (await answer.json())["text"] == "you are admin"  # the claims reached the tool
    assert "sk-admin" not in repr(only_reads)
    with pytest.raises(ConfigError):
        ApiKeyAuth([])


async def test_jwt_hs256(client):
    secret = "s3cret-s3cret-s3cret-s3cret-s3cret!"
    auth = JWTAuth(secret=secret, audience="mastra", issuer="https://auth.example")
    api = await client(registry(), auth=auth)

    def token(**claims):
        base = {
            "sub": "ana",
            "aud": "mastra",
            "iss": "https://auth.example",
            "exp": time.time() + 60,
        }
        return jwt.encode({**base, **claims}, secret, algorithm="HS256")

    def call(value):
        return api.post(
            "/api/agents/who/generate",
            json={"messages": "?"},
            headers={"Authorization": f"Bearer {value}"},
        )

    assert (await (await call(token())).json())["text"] == "you are ana"
    for bad, reason in (
        (token(exp=time.time() - 3600), "expired"),
        (token(aud="other"), "audience"),
        (token(iss="https://evil"), "issuer"),
        (
            jwt.encode(
                {"sub": "x", "exp": time.time() + 60},
                "other-key-other-key-other-key-other!",
                algorithm="HS256",
            ),
            "Signature",
        ),
    ):
        answer = await call(bad)
        assert answer.status == 401 and reason.lower() in (await answer.text()).lower()
    assert "s3cret" not in repr(auth)
    await auth.aclose()


async def test_jwt_rs256_from_a_jwks_url_with_key_rotation(client):
    keys = {
        kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2")
    }
    published = ["k1"]
    fetches = []

    async def jwks(request):
        fetches.append(1)
        documents = []
        for kid in published:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(keys[kid].public_key(), as_dict=True)
            documents.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return web.json_response({"keys": documents})

    issuer_app = web.Application()
    issuer_app.router.add_get("/.well-known/jwks.json", jwks)
    issuer = TestServer(issuer_app, host="127.0.0.1")
    await issuer.start_server()
    auth = JWTAuth(jwks_url=str(issuer.make_url("/.well-known/jwks.json")), audience="mastra")
    api = await client(registry(), auth=auth)

    def signed(kid):
        claims = {"sub": f"user-{kid}", "aud": "mastra", "exp": time.time() + 60}
        return jwt.encode(claims, keys[kid], algorithm="RS256", headers={"kid": kid})

    async def ask(kid):
        return await api.post(
            "/api/agents/who/generate",
            json={"messages": "?"},
            headers={"Authorization": f"Bearer {signed(kid)}"},
        )

    assert (await (await ask("k1")).json())["text"] == "you are user-k1"
    assert (await ask("k1")).status == 200 and len(fetches) == 1  # cached
    assert (await ask("k2")).status == 401  # not published yet (one refetch to check)
    published.append("k2")  # the issuer rotates its keys
    assert (await (await ask("k2")).json())["text"] == "you are user-k2"
    await auth.aclose()
    await issuer.close()
