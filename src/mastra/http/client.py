"""``HttpClient``: one pooled aiohttp session with timeouts, retries and typed failures."""

from __future__ import annotations

import asyncio
import builtins
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import aiohttp
import msgspec
import orjson

from mastra.closeable import AsyncCloseable
from mastra.errors import (
    AuthenticationError,
    BadRequestError,
    ConnectionError,
    ContextLengthError,
    ProviderError,
    RateLimitError,
    ServerError,
    ServiceError,
    TimeoutError,
    mapped,
)
from mastra.http.policy import RetryPolicy, Timeouts, is_retryable_status, parse_retry_after
from mastra.loops import PerLoop
from mastra.sse import ServerSentEvent, SSEDecoder, aiter_sse
from mastra.telemetry.propagation import inject_traceparent
from mastra.telemetry.redact import Redactor

__all__ = ["HttpClient", "HttpResponse"]

T = TypeVar("T")

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-goog-request-id", "cf-ray")
_SECRET_HEADER = re.compile(r"(?i)(authorization|api[-_]?key|token|secret)")
_MAX_MESSAGE = 500
# How OpenAI, Anthropic, Google and OpenAI-compatible servers word "the prompt is too long".
_CONTEXT_LENGTH = re.compile(
    r"(?i)(maximum context length|context[ _]length|context window|prompt is too long|"
    r"input token count .*exceeds|exceeds the maximum number of tokens)"
)
DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


class HttpResponse(msgspec.Struct, frozen=True):
    """A complete response: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self, type: Any = Any) -> Any:
        """The body decoded as JSON, into ``type`` when given (msgspec validation)."""
        return msgspec.json.decode(self.body, type=type)


def _provider_message(body: bytes) -> str:
    """The human message inside an error body, in the shapes OpenAI, Anthropic, Google and
    most OpenAI-compatible servers use; else the body text."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:_MAX_MESSAGE]
        if isinstance(error, str):
            return error[:_MAX_MESSAGE]
        if isinstance(data.get("message"), str):
            return str(data["message"])[:_MAX_MESSAGE]
    return body.decode("utf-8", "replace").strip()[:_MAX_MESSAGE]


class HttpClient(AsyncCloseable):
    """An HTTP client for model providers and other JSON APIs.

    An ``aiohttp.ClientSession`` per event loop (created on first use in that loop) pools
    connections with keep-alive and a DNS cache; ``async with`` or ``aclose()`` closes them.
    Failed attempts are retried per ``retry``: 408/409/429/5xx, connection errors and
    timeouts, with exponential backoff and full jitter, honouring ``Retry-After``; other 4xx
    never are. A streaming request is retried only until its response starts. Inside a span,
    requests carry its W3C ``traceparent`` header. Failures raise ``ProviderError`` (an error
    answer) or ``TransportError`` (no usable answer: timeout, connection, stream) with the
    status, the provider's message and the request id; header values (API keys) never appear
    in them.

    Args:
        base_url: prefix for relative URLs.
        headers: sent with every request (e.g. ``Authorization``).
        timeouts: per-attempt connect / read / total limits.
        retry: the retry policy; ``RetryPolicy(max_attempts=1)`` disables retries.
        max_connections: connection pool size.
        max_response_bytes: a larger (non-streaming) body is an error, not a memory spike.
        provider: a name for error messages ("openai" ...).
    """

    def __init__(
        self,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_connections: int = 100,
        max_response_bytes: int = 64 * 2**20,
        provider: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.headers = dict(headers or {})
        self.timeouts = timeouts
        self.retry = retry
        self.max_connections = max_connections
        self.max_response_bytes = max_response_bytes
        self.provider = provider
        # A session belongs to the loop it was made in; a client is often shared by several.
        self._sessions: PerLoop[aiohttp.ClientSession] = PerLoop(
            self._open_session, lambda s: s.close(), lambda s: not s.closed
        )
        self._redactor = Redactor([v for k, v in self.headers.items() if _SECRET_HEADER.search(k)])

    def __repr__(self) -> str:
        names = ", ".join(sorted(self.headers))  # names only: values may be keys
        return f"HttpClient(base_url={self.base_url!r}, headers=[{names}])"

    async def aclose(self) -> None:
        """Close the pooled connections of every event loop that used this client (a loop
        running in another thread closes its own); the client opens a new pool if used
        again."""
        await self._sessions.aclose()

    async def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, ttl_dns_cache=300, keepalive_timeout=30
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=self.timeouts.total,
                sock_connect=self.timeouts.connect,
                sock_read=self.timeouts.read,
            ),
            auto_decompress=True,
        )

    def _url(self, url: str) -> str:
        if self.base_url is None or url.startswith(("http://", "https://")):
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    # -- requests -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send a request (retrying as the policy says) and read the whole response."""
        body, merged = self._body(json, data, headers)
        response, payload = await self._open(method, url, body, merged, params, stream=False)
        assert payload is not None
        return HttpResponse(response.status, dict(response.headers), payload)

    async def _open(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        *,
        stream: bool,
    ) -> tuple[aiohttp.ClientResponse, bytes | None]:
        """Attempt the request until it succeeds or fails for good. A successful streaming
        response is returned open and unread; otherwise the body is read (a break mid-body
        counts as a failed attempt) and the connection released."""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                response = await (await self._sessions.get()).request(
                    method, self._url(url), data=body, params=params, headers=headers
                )
                if stream and response.status < 400:
                    return response, None
                async with response:
                    payload = await self._read(response)
                if response.status < 400:
                    return response, payload
                failure = self._failure(method, url, response, payload)
            except (aiohttp.ClientError, builtins.TimeoutError) as exc:
                failure = self._transport_failure(method, url, exc)
            await self._before_retry(attempt, failure)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    @overload
    async def request_json(
        self,
        method: str,
        url: str,
        *,
        json: Any = ...,
        params: Mapping[str, str] | None = ...,
        headers: Mapping[str, str] | None = ...,
        type: type[T],
    ) -> T: ...

    @overload
    async def request_json(
        self,
        method: str,
        url: str,
        *,
        json: Any = ...,
        params: Mapping[str, str] | None = ...,
        headers: Mapping[str, str] | None = ...,
    ) -> Any: ...

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        type: Any = Any,
    ) -> Any:
        """Send JSON, decode the JSON answer into ``type`` (msgspec); a body that does not
        match raises ProviderError naming the mismatch."""
        response = await self.request(method, url, json=json, params=params, headers=headers)
        try:
            return response.json(type)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ProviderError(
                f"{self._who(method, url)} returned a body that does not match the expected "
                f"shape: {exc}",
                status=response.status,
                provider=self.provider,
                request_id=_request_id(response.headers),
            ) from None

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """An open response whose body the caller reads. Retried only until the response
        starts; leaving the block (or being cancelled) closes it."""
        body, merged = self._body(json, data, headers)
        response, _ = await self._open(method, url, body, merged, params, stream=True)
        try:
            yield response
        finally:
            if response.content.at_eof():
                response.release()
            else:
                response.close()  # unread body: drop the connection rather than drain it

    async def stream_sse(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        decoder: SSEDecoder | None = None,
    ) -> AsyncIterator[ServerSentEvent]:
        """The server-sent events of a streaming request (see :meth:`stream`)."""
        wanted = {"Accept": "text/event-stream", **(headers or {})}
        async with self.stream(method, url, json=json, params=params, headers=wanted) as resp:
            if resp.content_type != "text/event-stream":
                body = await self._read(resp)
                raise ProviderError(
                    f"{self._who(method, url)} answered {resp.content_type or 'no content type'} "
                    f"where an event stream was expected: "
                    f"{self._redactor.redact(_provider_message(body))}",
                    status=resp.status,
                    provider=self.provider,
                    request_id=_request_id(resp.headers),
                )
            async for event in aiter_sse(resp, decoder=decoder):
                yield event

    # -- helpers --------------------------------------------------------------------------

    def _body(
        self, json: Any, data: bytes | None, headers: Mapping[str, str] | None
    ) -> tuple[bytes | None, dict[str, str]]:
        merged = {**self.headers, **(headers or {})}
        inject_traceparent(merged)  # the active span's W3C trace context, unless given
        if json is None:
            return data, merged
        merged.setdefault("Content-Type", "application/json")
        return msgspec.json.encode(json), merged

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_response_bytes:
            raise self._too_large(response)
        chunks, size = [], 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise self._too_large(response)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, response: aiohttp.ClientResponse) -> ProviderError:
        return ProviderError(
            f"response from {self._who(response.method, response.url.path)} exceeds "
            f"max_response_bytes={self.max_response_bytes}",
            status=response.status,
            provider=self.provider,
            request_id=_request_id(response.headers),
        )

    def _who(self, method: str, url: str) -> str:
        path = url.split("?", 1)[0]  # query strings may carry keys (?key=...)
        return f"{self.provider or 'HTTP'} {method.upper()} {path}"

    def _failure(
        self, method: str, url: str, response: aiohttp.ClientResponse, body: bytes
    ) -> ServiceError:
        status = response.status
        message = self._redactor.redact(_provider_message(body))
        text = f"{self._who(method, url)} failed with {status}: {message}"
        common: dict[str, Any] = {
            "status": status,
            "provider": self.provider,
            "request_id": _request_id(response.headers),
            "body": message,
        }
        if status == 429 or status >= 500:
            common["retry_after"] = parse_retry_after(response.headers)
        if status == 429:
            return RateLimitError(text, **common)
        if status in (401, 403):
            return AuthenticationError(text, **common)
        if status == 408:
            return TimeoutError(text, **common)
        if status >= 500:
            return ServerError(text, **common)
        if _CONTEXT_LENGTH.search(message) or b"context_length_exceeded" in body:
            return ContextLengthError(text, **common)
        return BadRequestError(text, **common)

    def _transport_failure(self, method: str, url: str, exc: BaseException) -> ServiceError:
        who, provider = self._who(method, url), self.provider
        failure = mapped(
            exc,
            {
                builtins.TimeoutError: lambda _: TimeoutError(
                    f"{who} timed out ({self.timeouts})", provider=provider
                ),
                Exception: lambda text: ConnectionError(
                    self._redactor.redact(text), provider=provider
                ),
            },
            f"{who} failed",
        )
        assert isinstance(failure, ServiceError)
        return failure

    async def _before_retry(self, attempt: int, failure: ServiceError) -> None:
        """Raise ``failure`` when it is final; otherwise wait out the backoff."""
        retryable = failure.status is None or is_retryable_status(failure.status)
        if not retryable or attempt >= self.retry.max_attempts:
            raise failure
        retry_after = failure.retry_after if isinstance(failure, ProviderError) else None
        await asyncio.sleep(self.retry.delay(attempt, retry_after))


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None
