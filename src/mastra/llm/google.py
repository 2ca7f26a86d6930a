"""Google Gemini (Generative Language API): generateContent, streamGenerateContent with
``alt=sse``, function declarations / calls / responses, usage metadata, and embeddings."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from mastra.errors import ProviderError
from mastra.llm.base import HttpModel, StreamAssembler, finish_reason, merge_turns, settings_body
from mastra.llm.types import ModelRequest, ModelResponse, StreamEvent
from mastra.messages import (
    FinishReason,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
    Usage,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["GoogleModel"]

GOOGLE_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
_EMBED_BATCH = 100


class _FunctionCall(msgspec.Struct):
    name: str
    args: dict[str, Any] = {}
    id: str | None = None


class _WirePart(msgspec.Struct, rename="camel"):
    text: str | None = None
    thought: bool = False
    function_call: _FunctionCall | None = None


class _Content(msgspec.Struct):
    parts: list[_WirePart] = []


class _Candidate(msgspec.Struct, rename="camel"):
    content: _Content | None = None
    finish_reason: str | None = None


class _UsageMetadata(msgspec.Struct, rename="camel"):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    total_token_count: int = 0
    cached_content_token_count: int = 0
    thoughts_token_count: int = 0


class _Response(msgspec.Struct, rename="camel"):
    candidates: list[_Candidate] = []
    usage_metadata: _UsageMetadata | None = None
    response_id: str | None = None
    model_version: str | None = None


class _Embedding(msgspec.Struct):
    values: list[float]


class _Embeddings(msgspec.Struct):
    embeddings: list[_Embedding]


_CHUNK = msgspec.json.Decoder(_Response)
_SETTINGS = {
    "temperature": "temperature",
    "top_p": "topP",
    "max_tokens": "maxOutputTokens",
    "stop": "stopSequences",
    "seed": "seed",
}
_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
}


def _usage(wire: _UsageMetadata | None) -> Usage:
    if wire is None:
        return Usage()
    output = wire.candidates_token_count + wire.thoughts_token_count
    return Usage(
        wire.prompt_token_count,
        output,
        wire.cached_content_token_count,
        wire.total_token_count or wire.prompt_token_count + output,
    )


def _part(part: Part) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        if part.url:
            return {"fileData": {"mimeType": part.media_type or "image/jpeg", "fileUri": part.url}}
        return {
            "inlineData": {
                "mimeType": part.media_type or "image/png",
                "data": base64.b64encode(part.data or b"").decode(),
            }
        }
    if isinstance(part, ToolCall):
        return {"functionCall": {"name": part.name, "args": part.arguments}}
    if isinstance(part, ToolResult):
        key = "error" if part.is_error else "result"
        response = (
            part.content
            if isinstance(part.content, dict) and not part.is_error
            else {key: part.content}
        )
        return {"functionResponse": {"name": part.name, "response": response}}
    return None  # reasoning stays with the model that produced it


class GoogleModel(HttpModel):
    """A Gemini model through the Generative Language API (``x-goog-api-key``)."""

    provider = "google"
    api_version = "v1beta"

    default_base_url = GOOGLE_BASE_URL
    default_key_env = ("GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    auth_header = ("x-goog-api-key", "{key}")

    def body(self, request: ModelRequest) -> dict[str, Any]:
        system, contents = merge_turns(request.messages, _part, assistant="model", key="parts")
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if request.tools:
            body["tools"] = [
                {
                    "functionDeclarations": [
                        {"name": t.name, "description": t.description, "parameters": t.parameters}
                        for t in request.tools
                    ]
                }
            ]
            choice = request.settings.tool_choice
            mode = {"auto": "AUTO", "none": "NONE", "required": "ANY"}.get(choice, "ANY")
            config: dict[str, Any] = {"mode": mode}
            if choice not in ("auto", "none", "required"):
                config["allowedFunctionNames"] = [choice]
            body["toolConfig"] = {"functionCallingConfig": config}
        generation = settings_body(request.settings, _SETTINGS)
        if request.response_format is not None:
            generation["responseMimeType"] = "application/json"
            generation["responseJsonSchema"] = request.response_format.schema
        if generation:
            body["generationConfig"] = generation
        body.update(request.settings.extra)
        return body

    @property
    def _path(self) -> str:
        return f"/models/{self.model}"

    async def generate(self, request: ModelRequest) -> ModelResponse:
        response = await self._http().request_json(
            "POST", f"{self._path}:generateContent", json=self.body(request), type=_Response
        )
        if not response.candidates:
            raise ProviderError(
                f"{self.name} answered without a candidate (blocked prompt?)",
                provider=self.provider,
            )
        candidate = response.candidates[0]
        parts: list[Part] = []
        for i, wire in enumerate(candidate.content.parts if candidate.content else []):
            if wire.function_call is not None:
                call = wire.function_call
                parts.append(ToolCall(call.id or f"call_{i}", call.name, call.args))
            elif wire.text:
                parts.append(ReasoningPart(wire.text) if wire.thought else TextPart(wire.text))
        calls = any(isinstance(p, ToolCall) for p in parts)
        return ModelResponse(
            message=Message("assistant", parts),
            usage=_usage(response.usage_metadata),
            finish_reason=finish_reason(_FINISH, candidate.finish_reason, calls=calls),
            id=response.response_id,
            model=response.model_version,
        )

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        assembler = StreamAssembler()
        reason: str | None = None
        async for sse in self._http().stream_sse(
            "POST",
            f"{self._path}:streamGenerateContent",
            params={"alt": "sse"},
            json=self.body(request),
        ):
            chunk = self.decode_event(_CHUNK, sse.data, "a GenerateContentResponse")
            assembler.id = assembler.id or chunk.response_id
            assembler.model = assembler.model or chunk.model_version
            if chunk.usage_metadata is not None:
                yield assembler.set_usage(_usage(chunk.usage_metadata))
            for candidate in chunk.candidates[:1]:
                reason = candidate.finish_reason or reason
                for wire in candidate.content.parts if candidate.content else []:
                    for event in self._part_events(assembler, wire):
                        yield event
        for event in assembler.finish(finish_reason(_FINISH, reason, calls=bool(assembler.calls))):
            yield event

    @staticmethod
    def _part_events(assembler: StreamAssembler, wire: _WirePart) -> list[StreamEvent]:
        if wire.function_call is not None:
            index = len(assembler.calls)
            call = wire.function_call
            start = assembler.tool_start(index, call.id or f"call_{index}", call.name)
            delta = assembler.tool_delta(index, orjson.dumps(call.args).decode())
            return [e for e in (start, delta) if e is not None]
        out = (
            assembler.reasoning_delta(wire.text)
            if wire.thought
            else assembler.text_delta(wire.text)
        )
        return [out] if out is not None else []

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embeddings from ``batchEmbedContents`` (100 texts a request), one row per text."""
        rows: list[list[float]] = []
        for start in range(0, len(texts), _EMBED_BATCH):
            batch = texts[start : start + _EMBED_BATCH]
            answer = await self._http().request_json(
                "POST",
                f"{self._path}:batchEmbedContents",
                type=_Embeddings,
                json={
                    "requests": [
                        {"model": f"models/{self.model}", "content": {"parts": [{"text": t}]}}
                        for t in batch
                    ]
                },
            )
            rows.extend(e.values for e in answer.embeddings)
        if len(rows) != len(texts):
            raise ProviderError(
                f"{self.name} returned {len(rows)} embeddings for {len(texts)} texts",
                provider=self.provider,
            )
        import numpy as np  # here, not at import: chat-only programs never load it

        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
