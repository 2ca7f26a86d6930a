"""Who may call the server: API keys or JWTs (HS256 with a secret, RS256/ES256 with keys from a
JWKS URL), checked before a private route runs. The claims reach agents and tools as
``context["auth"]``."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from aiohttp import web

from mastra.cache import TTLCache
from mastra.closeable import AsyncCloseable
from mastra.errors import ConfigError
from mastra.http import HttpClient
from mastra.server.http import HttpError

__all__ = ["ApiKeyAuth", "Auth", "JWTAuth"]

Claims = dict[str, Any]
Authorize = Callable[[Claims, web.Request], bool]


class Auth(Protocol):
    """Checks a request's credentials: returns its claims, or raises HttpError 401/403."""

    async def authenticate(self, request: web.Request) -> Claims: ...


def _credential(request: web.Request) -> str | None:
    """``Authorization: Bearer <token>``, else ``X-API-Key``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key") or None


def _missing() -> HttpError:
    return HttpError(
        401, "unauthorized", "missing credentials: send Authorization: Bearer <key or token>"
    )


def _allowed(authorize: Authorize | None, claims: Claims, request: web.Request) -> Claims:
    if authorize is not None and not authorize(claims, request):
        raise HttpError(403, "forbidden", f"these credentials may not call {request.path}")
    return claims


class ApiKeyAuth:
    """API keys: a list of keys, or ``{key: claims}`` to tell callers apart. ``authorize(claims,
    request) -> bool`` may refuse a known caller a route (403)."""

    def __init__(
        self,
        keys: Iterable[str] | Mapping[str, Claims],
        *,
        authorize: Authorize | None = None,
    ) -> None:
        table = dict(keys) if isinstance(keys, Mapping) else {k: {} for k in keys}
        if not table or not all(isinstance(k, str) and k for k in table):
            raise ConfigError("ApiKeyAuth needs at least one non-empty string key")
        self._keys = {k: {"type": "api_key", **claims} for k, claims in table.items()}
        self._authorize = authorize

    async def authenticate(self, request: web.Request) -> Claims:
        given = _credential(request)
        if given is None:
            raise _missing()
        for key, claims in self._keys.items():  # compare_digest: no timing hint
            if hmac.compare_digest(given.encode(), key.encode()):
                return _allowed(self._authorize, dict(claims), request)
        raise HttpError(401, "unauthorized", "the API key is not valid")

    def __repr__(self) -> str:
        return f"ApiKeyAuth({len(self._keys)} keys)"  # never the keys


class JWTAuth(AsyncCloseable):
    """JSON Web Tokens (PyJWT, ``pip install 'mastra[server]'``): HS256 with ``secret``, or
    RS256/ES256 with the key a ``jwks_url`` lists for the token's ``kid`` (fetched once,
    cached for ``jwks_ttl`` seconds, refetched for an unknown ``kid``). ``audience`` and
    ``issuer`` are checked when given; ``exp``/``nbf`` always."""

    def __init__(
        self,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        *,
        algorithms: Iterable[str] | None = None,
        leeway: float = 30.0,
        jwks_ttl: float = 600.0,
        authorize: Authorize | None = None,
    ) -> None:
        if (secret is None) == (jwks_url is None):
            raise ConfigError("JWTAuth needs exactly one of secret= (HS256) or jwks_url= (RS256)")
        try:
            import jwt
        except ImportError:  # pragma: no cover - exercised only without the extra
            raise ConfigError("JWTAuth needs PyJWT: pip install 'mastra[server]'") from None
        self._jwt = jwt
        self._secret, self.jwks_url = secret, jwks_url
        self.audience, self.issuer, self.leeway = audience, issuer, leeway
        default = ("HS256",) if secret is not None else ("RS256", "ES256")
        self.algorithms = list(algorithms or default)
        self._authorize = authorize
        self._jwks: TTLCache[str, Any] = TTLCache(maxsize=1, ttl=jwks_ttl)
        self._http = HttpClient(provider="jwks") if jwks_url else None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def authenticate(self, request: web.Request) -> Claims:
        token = _credential(request)
        if token is None:
            raise _missing()
        jwt = self._jwt
        try:
            key = self._secret if self._secret is not None else await self._key_for(token)
            claims: Claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise HttpError(401, "unauthorized", f"the token is not valid: {exc}") from None
        return _allowed(self._authorize, {"type": "jwt", **claims}, request)

    async def _key_for(self, token: str) -> Any:
        kid = self._jwt.get_unverified_header(token).get("kid")
        keys = await self._key_set(refresh=False)
        if kid not in keys:
            keys = await self._key_set(refresh=True)  # keys rotate: look again once
        if kid not in keys:
            raise self._jwt.InvalidTokenError(f"no key {kid!r} at the JWKS URL")
        return keys[kid]

    async def _key_set(self, *, refresh: bool) -> dict[str, Any]:
        cached = None if refresh else self._jwks.get("keys")
        if cached is None:
            assert self._http is not None and self.jwks_url is not None
            document = (await self._http.request("GET", self.jwks_url)).json()
            key_set = self._jwt.PyJWKSet.from_dict(document)
            cached = {k.key_id: k.key for k in key_set.keys}
            self._jwks["keys"] = cached
        keys: dict[str, Any] = cached
        return keys

    def __repr__(self) -> str:
        where = "jwks_url=" + repr(self.jwks_url) if self.jwks_url else "secret=<hidden>"
        return f"JWTAuth({where}, audience={self.audience!r}, issuer={self.issuer!r})"
