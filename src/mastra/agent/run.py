"""What one agent run carries: its options, its context, its state from step to step, and
the signals the loop raises inside itself."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any, TypedDict

import msgspec

from mastra.agent.results import AgentEvent, AgentFinish, AgentResult, PendingToolCall, Step
from mastra.llm import JsonSchemaFormat
from mastra.llm.types import ModelRequest, ModelResponse
from mastra.messages import Message, ToolResult, Usage
from mastra.processors.base import ProcessorContext
from mastra.tools import Tool
from mastra.tools.tool import AbortSignal
from mastra.workflows.persist import RunStore

if TYPE_CHECKING:
    from mastra.memory import Memory

__all__ = [
    "Callback",
    "ContinueOptions",
    "Interrupted",
    "RunContext",
    "RunOptions",
    "RunState",
    "Suspend",
    "call",
    "final",
]

Callback = Callable[[Any], Any]


class RunOptions(TypedDict, total=False):
    """The keyword options of ``generate``, ``stream`` and their ``*_sync`` twins."""

    thread_id: str | None
    """The conversation: with the agent's memory, its history is loaded and the run saved."""
    resource_id: str | None
    """Who the thread belongs to (a user, an account): working memory and recall scope."""
    output: type[Any] | None
    """A type for a structured answer (``result.object``); overrides the agent's."""
    max_steps: int | None
    """Model calls at most in this run (default: the agent's ``max_steps``)."""
    context: dict[str, Any] | None
    """Values that dynamic instructions see as ``RunContext.context``."""
    on_step_finish: Callback | None
    """Called (sync or async) with each :class:`Step` as it finishes."""
    on_finish: Callback | None
    """Called (sync or async) with the :class:`AgentResult`."""
    run_id: str | None
    """The run's id (default: a new time-ordered id), as the result and traces carry it."""
    abort_signal: AbortSignal | None
    """Abort the run from outside: ``signal.abort(reason)`` stops the model stream, cancels
    running tools (they see ``ctx.cancelled``) and sub-agents; the run ends with finish
    reason ``"aborted"`` and memory keeps nothing of it."""
    memory_read_only: bool | None
    """Read the memory (history, recall, working memory) but save and index nothing."""


class ContinueOptions(TypedDict, total=False):
    """The keyword options of ``approve``, ``decline`` and ``resume``."""

    output: type[Any] | None
    on_step_finish: Callback | None
    on_finish: Callback | None
    abort_signal: AbortSignal | None


class RunContext(msgspec.Struct, kw_only=True):
    """What dynamic instructions see: the agent, the run and its ids, and the caller's
    ``context`` values."""

    agent: str
    run_id: str
    thread_id: str | None = None
    resource_id: str | None = None
    context: dict[str, Any] = {}


@dataclasses.dataclass(slots=True)
class RunState:
    """What one run carries from step to step."""

    run: RunContext
    output: type[Any] | None
    fmt: JsonSchemaFormat | None
    limit: int
    tools: dict[str, Tool[Any]]
    memory: Memory | None  # None when the run does not use memory
    signal: AbortSignal  # the run's own: tools and sub-agents watch it
    messages: list[Message] = dataclasses.field(default_factory=list)
    first_new: int = 0  # where this run's own messages start (after system and history)
    read_only: bool = False
    on_step_finish: Callback | None = None
    on_finish: Callback | None = None
    steps: list[Step] = dataclasses.field(default_factory=list)
    usage: Usage = dataclasses.field(default_factory=Usage)
    finish: str = "max_steps"
    delegations: int = 0
    inside: bool = True  # the run, not its consumer, has control (see Interrupted)
    interrupted: bool = False  # the run's task was cancelled by an abort
    task: asyncio.Task[Any] | None = None
    store: RunStore | None = None  # the lease held while a suspended run is continued
    stream_contexts: list[ProcessorContext] | None = None
    prompt: Any = None  # what the caller asked, as given (live scoring's input)


class Suspend(Exception):
    """A step stopped on pending tool calls."""

    def __init__(
        self,
        request: ModelRequest,
        response: ModelResponse,
        elapsed_ms: float,
        results: dict[str, ToolResult],
        pending: list[PendingToolCall],
    ) -> None:
        super().__init__("suspended")
        self.request, self.response, self.elapsed_ms = request, response, elapsed_ms
        self.results, self.pending = results, pending


class Interrupted(Exception):
    """The abort signal fired while the caller held control (between two events), or from
    the run's own task: the run stops at its next check."""


async def call(callback: Callback | None, value: Any) -> None:
    """Call a sync or async callback, if there is one."""
    if callback is not None:
        outcome = callback(value)
        if inspect.isawaitable(outcome):
            await outcome


async def final(events: AsyncGenerator[AgentEvent, None]) -> AgentResult:
    """The result of a run's events (its AgentFinish)."""
    result: AgentResult | None = None
    try:
        async for event in events:
            if isinstance(event, AgentFinish):
                result = event.result
    except BaseException:
        await events.aclose()
        raise
    assert result is not None
    return result
