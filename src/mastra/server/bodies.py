"""The JSON bodies the routes take, as msgspec types: decoding them is the validation (a
400 names the field: ``... at `$.maxSteps```), and ``/openapi.json`` is generated from them.
Unknown fields are accepted and ignored, as Mastra's ``.passthrough()`` schemas do."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "AgentRun",
    "ChatCompletion",
    "CreateIndex",
    "CreateThread",
    "DeleteMessages",
    "MemoryRef",
    "QueryVectors",
    "ResumeRun",
    "SaveMessages",
    "StartRun",
    "ToolExecution",
    "UpdateThread",
    "UpsertVectors",
    "WorkingMemoryUpdate",
]

Context = dict[str, Any]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class Body(msgspec.Struct, kw_only=True, rename="camel"):
    """Base of request bodies: camelCase on the wire."""


class MemoryRef(Body):
    thread: str | dict[str, Any] | None = None
    resource: str | None = None


class AgentRun(Body):
    """``generate`` / ``stream``: ``messages`` is a string or AI SDK messages."""

    messages: str | list[Any]
    memory: MemoryRef | None = None
    thread_id: str | None = None  # the legacy routes' place for them
    resource_id: str | None = None
    max_steps: Positive | None = None
    run_id: str | None = None
    request_context: Context = {}
    structured_output: Any = None  # refused with a reason (docs/server.md)


class ToolExecution(Body):
    data: dict[str, Any] = {}
    request_context: Context = {}


class StartRun(Body):
    input_data: Any = None
    request_context: Context = {}


class ResumeRun(Body):
    step: str | list[str] | None = None
    resume_data: Any = None
    request_context: Context = {}


class CreateThread(Body):
    resource_id: str
    title: str = ""
    metadata: dict[str, Any] = {}
    thread_id: str | None = None


class UpdateThread(Body):
    title: str | None = None
    metadata: dict[str, Any] | None = None
    resource_id: str | None = None


class SaveMessages(Body):
    messages: Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1)]
    thread_id: str | None = None
    resource_id: str | None = None


class DeleteMessages(Body):
    message_ids: Annotated[list[str], msgspec.Meta(min_length=1)]


class WorkingMemoryUpdate(Body):
    working_memory: Any
    resource_id: str | None = None


class CreateIndex(Body):
    index_name: str
    dimension: Positive
    metric: Literal["cosine", "euclidean", "dotproduct", "dot"] = "cosine"


class UpsertVectors(Body):
    index_name: str
    vectors: list[list[float]]
    metadata: list[dict[str, Any]] | None = None
    ids: list[str] | None = None


class QueryVectors(Body):
    index_name: str
    query_vector: list[float]
    top_k: Positive = 10
    filter: dict[str, Any] | None = None
    include_vector: bool = False


class ChatMessage(msgspec.Struct, kw_only=True):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class StreamOptions(msgspec.Struct, kw_only=True):
    include_usage: bool = False


class ChatCompletion(msgspec.Struct, kw_only=True):
    """The OpenAI Chat Completions request (snake_case, as OpenAI has it); ``model`` names an
    agent."""

    model: str
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
