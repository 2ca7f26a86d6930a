"""Networks: a supervisor agent that delegates to sub-agents, each offered to its model as a
tool taking a ``prompt``."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from mastra.agent.results import AgentResult
from mastra.errors import ToolError, ValidationError
from mastra.messages import Message
from mastra.tools import Tool, ToolContext

if TYPE_CHECKING:
    from mastra.agent.agent import Agent

__all__ = [
    "Delegation",
    "DelegationComplete",
    "DelegationStart",
    "NetworkOptions",
    "Reject",
]


class DelegationStart(msgspec.Struct, frozen=True, kw_only=True):
    """A delegation about to happen: which sub-agent, the prompt the supervisor wrote, the
    supervisor's run, and its conversation so far (system messages left out)."""

    agent: str
    prompt: str
    run_id: str
    thread_id: str | None = None
    resource_id: str | None = None
    messages: list[Message] = []


class DelegationComplete(msgspec.Struct, frozen=True, kw_only=True):
    """A finished delegation: the sub-agent's result and how long it took."""

    agent: str
    prompt: str
    run_id: str
    result: AgentResult
    duration_ms: float = 0.0


class Reject(msgspec.Struct, frozen=True):
    """Returned by ``on_delegation_start`` to refuse a delegation; ``reason`` goes back to
    the supervisor's model as the tool's error."""

    reason: str


StartHook = Callable[[DelegationStart], "str | Reject | Awaitable[str | Reject | None] | None"]
CompleteHook = Callable[[DelegationComplete], "str | Awaitable[str | None] | None"]
ContextFilter = Callable[[list[Message]], "list[Message] | Awaitable[list[Message]]"]
CompletionCheck = Callable[[AgentResult], "bool | str | Awaitable[bool | str | None] | None"]


class NetworkOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How a supervisor delegates (``Agent(agents=..., network=NetworkOptions(...))``).

    Attributes:
        on_delegation_start: called before each delegation with a :class:`DelegationStart`;
            may return a new prompt (``str``), a :class:`Reject`, or None to go ahead.
        on_delegation_complete: called after each with a :class:`DelegationComplete`; may
            return the text the supervisor sees instead of the sub-agent's answer.
        context_filter: which of the supervisor's messages (system messages left out) the
            sub-agent sees before the prompt; by default none, only the prompt.
        max_iterations: delegations per supervisor run at most; later calls get an error
            telling the model to answer with what it has.
        completion_check: called with the supervisor's would-be final result; False or a
            ``str`` of feedback sends the supervisor on (the feedback as a user message),
            True or None accepts the answer. Bounded by the supervisor's ``max_steps``.
    """

    on_delegation_start: StartHook | None = None
    on_delegation_complete: CompleteHook | None = None
    context_filter: ContextFilter | None = None
    max_iterations: int = 10
    completion_check: CompletionCheck | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_iterations, bool)
            or not isinstance(self.max_iterations, int)
            or self.max_iterations < 1
        ):
            raise ValidationError(
                f"max_iterations must be an integer >= 1, got {self.max_iterations!r}"
            )


async def resolve(value: Any) -> Any:
    """A hook's answer, awaited when it is awaitable."""
    return await value if inspect.isawaitable(value) else value


class _Prompt(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str


class Delegation(Tool[Any]):
    """A sub-agent as one of the supervisor's tools."""

    def __init__(self, key: str, agent: Agent, options: NetworkOptions) -> None:
        super().__init__(
            key,
            agent.description
            or f"Delegate to the {agent.name} agent; give it the whole task as prompt.",
            input=_Prompt,
            execute=self._delegate,
        )
        self.agent = agent
        self.options = options

    async def _delegate(self, args: _Prompt, ctx: ToolContext) -> Any:
        options = self.options
        seen = [m for m in ctx.messages if m.role != "system"]
        prompt = args.prompt
        if options.on_delegation_start is not None:
            start = DelegationStart(
                agent=self.id,
                prompt=prompt,
                run_id=ctx.run_id,
                thread_id=ctx.thread_id,
                resource_id=ctx.resource_id,
                messages=seen,
            )
            decision = await resolve(options.on_delegation_start(start))
            if isinstance(decision, Reject):
                raise ToolError(f"the delegation to {self.id!r} was rejected: {decision.reason}")
            if isinstance(decision, str):
                prompt = decision
        shown = await resolve(options.context_filter(seen)) if options.context_filter else []
        started = time.perf_counter()
        result = await self.agent.generate(
            [*shown, Message.user(prompt)],
            resource_id=ctx.resource_id,
            context=dict(ctx.context),
            abort_signal=ctx.signal,
        )
        if result.status == "suspended":
            raise ToolError(
                f"agent {self.id!r} suspended (run {result.run_id}) waiting for approval; "
                "sub-agents of a network cannot suspend their supervisor's run"
            )
        answer: Any = result.object if result.object is not None else result.text
        if options.on_delegation_complete is not None:
            done = DelegationComplete(
                agent=self.id,
                prompt=prompt,
                run_id=ctx.run_id,
                result=result,
                duration_ms=(time.perf_counter() - started) * 1000,
            )
            replaced = await resolve(options.on_delegation_complete(done))
            if isinstance(replaced, str):
                answer = replaced
        return answer
