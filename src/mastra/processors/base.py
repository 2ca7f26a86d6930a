"""The one protocol every message processor follows, for agents and memory alike.

A processor may rewrite the messages before the model (``process_input``), the final
result (``process_output``) and, in a stream, each event (``process_output_stream``). It may
trip the wire with ``ctx.abort(reason)``: the run then ends with finish reason
``"tripwire"``, nothing more goes to the model, and memory keeps nothing of the turn.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

from mastra.errors import MastraError, ValidationError
from mastra.messages import Message

if TYPE_CHECKING:
    from mastra.agent.results import AgentEvent, AgentResult

__all__ = [
    "FunctionProcessor",
    "Processor",
    "ProcessorContext",
    "Tripwire",
    "as_processor",
    "latest_turn",
    "run_input",
]

StreamOutput: TypeAlias = "AgentEvent | Sequence[AgentEvent] | None"
MessageFunction = Callable[[list[Message]], "list[Message] | Awaitable[list[Message]]"]


class Tripwire(MastraError):
    """A processor stopped the run (``ctx.abort(reason)``). An agent turns it into a result
    with ``finish_reason="tripwire"``; outside an agent (``Memory.context``) it is raised."""

    def __init__(self, reason: str, *, processor: str = "") -> None:
        super().__init__(f"{processor or 'a processor'} stopped the run: {reason}")
        self.reason = reason
        self.processor = processor


class ProcessorContext:
    """What a processor sees besides the messages: the agent, run, thread and resource ids,
    the caller's ``context`` values, ``state`` (a dict kept for this processor across the
    events of one streamed run) and ``abort(reason)``."""

    __slots__ = ("agent", "context", "processor", "resource_id", "run_id", "state", "thread_id")

    def __init__(
        self,
        *,
        agent: str | None = None,
        run_id: str = "",
        thread_id: str | None = None,
        resource_id: str | None = None,
        context: dict[str, Any] | None = None,
        processor: str = "",
    ) -> None:
        self.agent, self.run_id = agent, run_id
        self.thread_id, self.resource_id = thread_id, resource_id
        self.context: dict[str, Any] = context if context is not None else {}
        self.processor = processor
        self.state: dict[str, Any] = {}

    def abort(self, reason: str) -> NoReturn:
        """Trip the wire: the run ends now with finish reason ``"tripwire"`` and ``reason``
        in ``result.tripwire``. Say why without quoting secrets: the reason is returned to the
        caller and recorded on the run's span."""
        raise Tripwire(reason, processor=self.processor)

    def for_processor(self, processor: Processor) -> ProcessorContext:
        """A context like this one for ``processor``, with its own ``state``."""
        return ProcessorContext(
            agent=self.agent,
            run_id=self.run_id,
            thread_id=self.thread_id,
            resource_id=self.resource_id,
            context=self.context,
            processor=processor.name,
        )


class Processor:
    """Base class of processors: override what you need; the defaults pass everything through.

    - ``async process_input(messages, ctx) -> list[Message]``: the messages about to go to the
      model (system prompt, memory, the new turn), before the first model call.
    - ``async process_output(result, ctx) -> AgentResult``: the final result, before memory
      saves it and the caller gets it.
    - ``async process_output_stream(event, ctx)``: each event of a streamed run; return it, a
      replacement, a list of events, or None to drop it. ``ctx.state`` persists across one
      run's events (buffer text there).

    Any object with one of these methods works; this class only supplies the defaults.
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        """How tripwires and spans name this processor (its class name)."""
        return type(self).__name__

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        return messages

    async def process_output(self, result: AgentResult, ctx: ProcessorContext) -> AgentResult:
        return result

    async def process_output_stream(self, event: AgentEvent, ctx: ProcessorContext) -> StreamOutput:
        return event


class FunctionProcessor(Processor):
    """A plain function ``messages -> messages`` (sync or async) as an input processor."""

    __slots__ = ("fn",)

    def __init__(self, fn: MessageFunction) -> None:
        self.fn = fn

    @property
    def name(self) -> str:
        return str(getattr(self.fn, "__name__", type(self.fn).__name__))

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        out = self.fn(messages)
        return await out if inspect.isawaitable(out) else out


def as_processor(item: Any) -> Processor:
    """``item`` as a Processor: processors as they are, a plain callable as an input
    processor; anything else is a ValidationError."""
    if isinstance(item, Processor):
        return item
    if any(
        callable(getattr(item, m, None))
        for m in ("process_input", "process_output", "process_output_stream")
    ):
        return _Adapter(item)
    if callable(item):
        return FunctionProcessor(item)
    raise ValidationError(
        f"a processor has process_input / process_output / process_output_stream methods "
        f"(see mastra.processors.Processor) or is a function of the messages; got "
        f"{type(item).__name__}"
    )


class _Adapter(Processor):
    """A duck-typed processor that is not a Processor subclass: its missing methods pass
    through."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return str(getattr(self.inner, "name", type(self.inner).__name__))

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        method = getattr(self.inner, "process_input", None)
        return messages if method is None else list(await method(messages, ctx))

    async def process_output(self, result: AgentResult, ctx: ProcessorContext) -> AgentResult:
        method = getattr(self.inner, "process_output", None)
        return result if method is None else await method(result, ctx)

    async def process_output_stream(self, event: AgentEvent, ctx: ProcessorContext) -> StreamOutput:
        method = getattr(self.inner, "process_output_stream", None)
        return event if method is None else await method(event, ctx)


def overrides(processor: Processor, method: str) -> bool:
    """Whether ``processor`` does something in ``method`` (not the pass-through default)."""
    if isinstance(processor, _Adapter):
        return callable(getattr(processor.inner, method, None))
    return getattr(type(processor), method) is not getattr(Processor, method)


async def run_input(
    processors: Sequence[Processor], messages: list[Message], ctx: ProcessorContext
) -> list[Message]:
    """The messages after each processor's ``process_input``, in order."""
    for processor in processors:
        ctx.processor = processor.name
        messages = await processor.process_input(messages, ctx)
    return messages


def latest_turn(messages: Sequence[Message]) -> int:
    """Where the newest turn starts: the index after the last assistant or tool message (the
    earlier messages were checked when they were new)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role in ("assistant", "tool"):
            return index + 1
    return 0
