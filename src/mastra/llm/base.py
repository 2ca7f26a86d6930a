"""``LanguageModel``: the interface every provider implements, and the pieces they share."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, TypeVar

import msgspec
import orjson

from mastra.closeable import AsyncCloseable
from mastra.errors import ProviderError, ValidationError
from mastra.http import HttpClient, RetryPolicy, Timeouts
from mastra.llm.credentials import resolve_key
from mastra.llm.types import (
    Finish,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    UsageUpdate,
)
from mastra.loops import run_sync
from mastra.messages import FinishReason, Message, Part, ReasoningPart, TextPart, ToolCall, Usage

if TYPE_CHECKING:  # numpy loads where a vector is made, not with every model
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "CachedModel",
    "HttpModel",
    "HttpOptions",
    "LanguageModel",
    "StreamAssembler",
    "finish_reason",
    "merge_turns",
    "parse_arguments",
    "settings_body",
]


class LanguageModel(AsyncCloseable, ABC):
    """A chat model behind one interface. ``generate`` answers at once, ``stream`` yields
    :data:`~mastra.llm.types.StreamEvent`s ending with a :class:`Finish` that carries the
    whole response; ``embed`` exists where the provider has embeddings. A model that holds
    connections releases them with ``aclose()`` (or ``async with model:``)."""

    provider: str = "unknown"
    model: str = ""

    @property
    def name(self) -> str:
        """``provider/model``, as the router spells it."""
        return f"{self.provider}/{self.model}"

    @abstractmethod
    async def generate(self, request: ModelRequest) -> ModelResponse: ...

    @abstractmethod
    def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]: ...

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One float32 row per text."""
        raise ValidationError(f"{self.name} has no embeddings; use an embedding model")

    def generate_sync(self, request: ModelRequest) -> ModelResponse:
        """``generate`` for scripts and notebooks (runs its own event loop)."""
        return run_sync(
            lambda: self.generate(request),
            name="generate_sync()",
            instead="`await model.generate(request)`",
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


_VERSIONED = re.compile(r"/v\d+(?:alpha|beta)?\d*$")


def with_api_version(base_url: str, version: str | None) -> str:
    """``base_url`` ending in an API version segment: as given when it has one
    (``https://api.anthropic.com/v1``), else with ``version`` added — the form the provider's
    own SDK takes (``ANTHROPIC_BASE_URL=http://proxy:8080``)."""
    url = base_url.rstrip("/")
    if version is None or _VERSIONED.search(url):
        return url
    return f"{url}/{version}"


class HttpOptions(TypedDict, total=False):
    """What every HTTP provider takes besides the model id."""

    api_key: str | None
    base_url: str | None
    api_key_env: Sequence[str] | None
    key_required: bool
    headers: Mapping[str, str] | None
    timeouts: Timeouts | None
    retry: RetryPolicy | None


class HttpModel(LanguageModel):
    """A model behind an HTTP API; providers differ only in how they translate requests and
    answers, and in the class attributes below.

    The key (``api_key`` or the first of ``api_key_env`` that is set) is resolved, and the
    pooled :class:`~mastra.http.HttpClient` made, at the first call.

    Args:
        model: the provider's model id.
        api_key: the key; default from the ``api_key_env`` variables at first use.
        base_url: the API root (default :attr:`default_base_url`).
        api_key_env: environment variables to read the key from, in order.
        key_required: False for local servers that take no key.
        headers, timeouts, retry: passed to the :class:`~mastra.http.HttpClient`.
    """

    default_base_url: ClassVar[str] = ""
    default_key_env: ClassVar[tuple[str, ...]] = ()
    # The header that carries the key, and its value with ``{key}`` in it.
    auth_header: ClassVar[tuple[str, str]] = ("Authorization", "Bearer {key}")
    # The API version a base URL gets when it has none (the form the provider's SDK takes).
    api_version: ClassVar[str | None] = None

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_key_env: Sequence[str] | None = None,
        key_required: bool = True,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.model = model
        self.base_url = with_api_version(base_url or self.default_base_url, self.api_version)
        self._api_key = api_key
        self._api_key_env = tuple(api_key_env if api_key_env is not None else self.default_key_env)
        self._key_required = key_required
        self._headers = dict(headers or {})
        self._timeouts, self._retry = timeouts, retry
        self._client: HttpClient | None = None

    def auth_headers(self, key: str | None) -> dict[str, str]:
        """The headers that carry the key (none without one)."""
        name, value = self.auth_header
        return {name: value.format(key=key)} if key else {}

    def _http(self) -> HttpClient:
        if self._client is None:
            key = resolve_key(
                self.provider, self._api_key, self._api_key_env, required=self._key_required
            )
            options: dict[str, Any] = {"provider": self.provider}
            if self._timeouts is not None:
                options["timeouts"] = self._timeouts
            if self._retry is not None:
                options["retry"] = self._retry
            self._client = HttpClient(
                self.base_url, {**self._headers, **self.auth_headers(key)}, **options
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def decode_event(self, decoder: msgspec.json.Decoder[T], data: str, what: str) -> T:
        """One streamed event decoded into its wire type; ProviderError (not a decoder
        traceback) when the server sent something else."""
        try:
            return decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ProviderError(
                f"{self.name} streamed an event that is not {what}: {exc}", provider=self.provider
            ) from None


def merge_turns(
    messages: Sequence[Message],
    convert: Callable[[Part], dict[str, Any] | None],
    *,
    assistant: str,
    key: str,
) -> tuple[str, list[dict[str, Any]]]:
    """System text, and the other messages as alternating turns for APIs that want them so:
    tool results travel as user turns, consecutive same-role turns are merged, parts that
    ``convert`` maps to None are left out."""
    system = "\n\n".join(m.text for m in messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = assistant if message.role == "assistant" else "user"
        parts = [p for p in map(convert, message.parts) if p is not None]
        if turns and turns[-1]["role"] == role:
            turns[-1][key].extend(parts)
        else:
            turns.append({"role": role, key: parts})
    return system, turns


def parse_arguments(text: str) -> tuple[dict[str, Any], str | None]:
    """Tool-call argument text as an object, or ({}, text) when it is not a JSON object."""
    if not text.strip():
        return {}, None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}, text
    return (value, None) if isinstance(value, dict) else ({}, text)


T = TypeVar("T")

Rewrite = Callable[[list[Part], FinishReason], tuple[list[Part], FinishReason]]


def settings_body(settings: ModelSettings, names: Mapping[str, str]) -> dict[str, Any]:
    """The settings that are set, under their wire names (``names``: field -> wire name; a
    field it leaves out is not sent). ``settings.extra`` is the caller's to merge."""
    return {
        wire: value
        for field, wire in names.items()
        if (value := getattr(settings, field)) is not None
    }


def finish_reason(
    table: Mapping[str, FinishReason], wire: str | None, *, calls: bool = False
) -> FinishReason:
    """The provider's stop reason in our words ("other" when unknown); a plain stop that
    came with tool calls is ``tool_calls``."""
    reason = table.get(wire or "", "other")
    return "tool_calls" if calls and reason == "stop" else reason


class StreamAssembler:
    """Builds stream events and the final response from a provider's deltas, so every
    provider streams the same way. Empty deltas produce no event."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.reasoning_signature: str | None = None
        self.calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]
        self.ended: dict[int, ToolCall] = {}
        self.usage = Usage()
        self.id: str | None = None
        self.model: str | None = None

    def text_delta(self, text: str | None) -> TextDelta | None:
        if not text:
            return None
        self.text.append(text)
        return TextDelta(text)

    def reasoning_delta(self, text: str | None) -> ReasoningDelta | None:
        if not text:
            return None
        self.reasoning.append(text)
        return ReasoningDelta(text)

    def tool_start(self, index: int, id: str, name: str) -> ToolCallStart:
        self.calls[index] = [id, name, ""]
        return ToolCallStart(index, id, name)

    def tool_delta(self, index: int, arguments: str | None) -> ToolCallDelta | None:
        if not arguments or index not in self.calls:
            return None
        self.calls[index][2] += arguments
        return ToolCallDelta(index, arguments)

    def tool_end(self, index: int) -> ToolCallEnd | None:
        if index not in self.calls or index in self.ended:
            return None
        id_, name, text = self.calls[index]
        arguments, raw = parse_arguments(text)
        call = ToolCall(id_, name, arguments, raw)
        self.ended[index] = call
        return ToolCallEnd(index, call)

    def set_usage(self, usage: Usage) -> UsageUpdate:
        self.usage = usage
        return UsageUpdate(usage)

    def finish(self, reason: FinishReason, rewrite: Rewrite | None = None) -> list[StreamEvent]:
        """End every open tool call, then the Finish event with the assembled response.
        ``rewrite`` may reshape the final parts and reason (a provider's own conventions)."""
        events: list[StreamEvent] = [e for i in sorted(self.calls) if (e := self.tool_end(i))]
        parts: list[Part] = []
        if self.reasoning:
            parts.append(ReasoningPart("".join(self.reasoning), self.reasoning_signature))
        if self.text:
            parts.append(TextPart("".join(self.text)))
        parts.extend(self.ended[i] for i in sorted(self.ended))
        if reason == "stop" and self.ended:
            reason = "tool_calls"
        if rewrite is not None:
            parts, reason = rewrite(parts, reason)
        response = ModelResponse(
            message=Message("assistant", parts),
            usage=self.usage,
            finish_reason=reason,
            id=self.id,
            model=self.model,
        )
        events.append(Finish(reason, response))
        return events


class CachedModel(LanguageModel):
    """Answers a repeated ``generate`` request (same messages, tools and settings) from
    ``cache``. Keys hash the model name and the request only, never credentials. Streams
    are not cached."""

    def __init__(self, inner: LanguageModel, cache: MutableMapping[str, ModelResponse]) -> None:
        self.inner = inner
        self.cache = cache
        self.provider, self.model = inner.provider, inner.model

    def key(self, request: ModelRequest) -> str:
        digest = hashlib.sha256(msgspec.json.encode(request)).hexdigest()
        return f"{self.inner.name}:{digest}"

    async def generate(self, request: ModelRequest) -> ModelResponse:
        key = self.key(request)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        response = await self.inner.generate(request)
        self.cache[key] = response
        return response

    def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        return self.inner.stream(request)

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return await self.inner.embed(texts)

    async def aclose(self) -> None:
        await self.inner.aclose()
