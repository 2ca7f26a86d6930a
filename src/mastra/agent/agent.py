"""``Agent``: a model with instructions and tools, run in a loop until it answers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import msgspec

from mastra.agent.results import (
    AgentEvent,
    AgentFinish,
    AgentResult,
    Step,
    StepFinish,
    ToolCallEvent,
    ToolProgress,
    ToolResultEvent,
)
from mastra.closeable import AsyncCloseable
from mastra.errors import MastraError, ValidationError
from mastra.ids import new_id
from mastra.llm import (
    Finish,
    JsonSchemaFormat,
    LanguageModel,
    ModelRequest,
    ModelSettings,
    get_model,
)
from mastra.llm.types import ModelResponse, ReasoningDelta, TextDelta
from mastra.loops import run_sync
from mastra.messages import Message, ToolCall, ToolResult, Usage
from mastra.telemetry import Telemetry, Tracer
from mastra.tools import Tool, ToolContext, ToolOutcome, tool

if TYPE_CHECKING:
    from mastra.evals import Sampling, Scorer
    from mastra.evals.live import LiveScoring
    from mastra.mastra import Mastra
    from mastra.memory import Memory

__all__ = ["Agent", "RunContext", "RunOptions"]

Prompt = str | Message | Sequence[Message]
Instructions = str | Callable[["RunContext"], str | Awaitable[str]]
Callback = Callable[[Any], Any]

_QUIET_TRACER = Tracer(enabled=False)


def _is_memory(value: object) -> bool:
    """Whether value is a Memory. Memory (with RAG, storage and numpy behind it) loads only
    for an agent given one, not with every agent."""
    from mastra.memory import Memory

    return isinstance(value, Memory)


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


class RunContext(msgspec.Struct, kw_only=True):
    """What dynamic instructions see: the agent, the run and its ids, and the caller's
    ``context`` values."""

    agent: str
    run_id: str
    thread_id: str | None = None
    resource_id: str | None = None
    context: dict[str, Any] = {}


@dataclasses.dataclass
class _RunState:
    """What one run carries from step to step."""

    run: RunContext
    output: type[Any] | None
    fmt: JsonSchemaFormat | None
    limit: int
    tools: dict[str, Tool[Any]]
    memory: Memory | None
    messages: list[Message]
    first_new: int  # where this run's own messages start (after system and history)
    on_step_finish: Callback | None = None
    on_finish: Callback | None = None
    steps: list[Step] = dataclasses.field(default_factory=list)
    usage: Usage = dataclasses.field(default_factory=Usage)
    finish: str = "max_steps"


_FUNCTION_TOOLS: weakref.WeakKeyDictionary[Callable[..., Any], Tool[Any]] = (
    weakref.WeakKeyDictionary()
)


def _function_tool(fn: Callable[..., Any]) -> Tool[Any]:
    """The Tool for a plain function, made once per function: agents created per request
    share it instead of inspecting the signature again."""
    made = _FUNCTION_TOOLS.get(fn)
    if made is None:
        made = _FUNCTION_TOOLS[fn] = tool(fn)
    return made


def _as_messages(prompt: Prompt) -> list[Message]:
    if isinstance(prompt, str):
        return [Message.user(prompt)]
    if isinstance(prompt, Message):
        return [prompt]
    messages = list(prompt)
    if not all(isinstance(m, Message) for m in messages):
        raise ValidationError("a prompt is a string, a Message or a list of Messages")
    return messages


async def _call(callback: Callback | None, value: Any) -> None:
    if callback is not None:
        outcome = callback(value)
        if inspect.isawaitable(outcome):
            await outcome


def _schema_format(output: type[Any]) -> JsonSchemaFormat:
    schema = msgspec.json.schema(output)
    defs = schema.pop("$defs", {})
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    root = dict(defs.pop(name, schema)) if name else schema
    root.pop("title", None)
    if defs:
        root["$defs"] = defs
    return JsonSchemaFormat(getattr(output, "__name__", "output"), root)


class Agent(AsyncCloseable):
    """An agent: ``instructions`` + a ``model`` + ``tools``, run step by step.

    Each step calls the model; when it asks for tools they run concurrently and their results
    go back to it; the run ends when the model answers without tool calls, or after
    ``max_steps`` (finish reason ``"max_steps"``, not an exception). Tool failures, invalid
    arguments and timeouts go back to the model as error results.

    Args:
        name: how the registry and traces know it.
        instructions: the system prompt, or a (sync/async) function of :class:`RunContext`.
        model: a ``"provider/model"`` string (resolved at the first run; the agent then owns
            the model and ``aclose()`` / ``async with agent:`` closes it) or a LanguageModel
            (yours to close).
        tools: :class:`~mastra.tools.Tool`s or plain typed functions.
        memory: a :class:`mastra.memory.Memory`: with ``thread_id`` (and ``resource_id``) a
            run sees the history, recalled messages and working memory, and its new messages
            are saved.
        max_steps: model calls per run at most.
        model_settings: temperature, max_tokens ... for every call.
        output: a type (msgspec Struct, dataclass, TypedDict ...) for structured answers.
        description: what the agent does (used by :meth:`as_tool`).
        scorers: live scoring, ``{scorer: Sampling(rate=0.1)}`` (or a rate): a sample of runs
            is scored in the background, never delaying the answer, and the scores are saved
            in the registry's storage with the run and trace ids (see ``mastra.evals``).
    """

    def __init__(
        self,
        name: str,
        instructions: Instructions = "",
        model: str | LanguageModel = "openai/gpt-4o-mini",
        *,
        tools: Sequence[Tool[Any] | Callable[..., Any]] = (),
        memory: Memory | None = None,
        max_steps: int = 5,
        model_settings: ModelSettings | None = None,
        output: type[Any] | None = None,
        description: str = "",
        telemetry: Telemetry | None = None,
        scorers: Mapping[Scorer, Sampling | float] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"an agent needs a non-empty name, got {name!r}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValidationError(f"max_steps must be an integer >= 1, got {max_steps!r}")
        if memory is not None and not _is_memory(memory):
            raise ValidationError(
                f"memory must be a mastra.memory.Memory, got {type(memory).__name__}"
            )
        self.name = name
        self.instructions = instructions
        self.max_steps = max_steps
        self.model_settings = model_settings or ModelSettings()
        self.output = output
        self.description = description
        self.telemetry = telemetry
        self.memory = memory
        self._model = model
        self._owns_model = isinstance(model, str)
        self._scoring: LiveScoring | None = None
        if scorers:
            from mastra.evals.live import LiveScoring

            self._scoring = LiveScoring(scorers)
        self.tools: dict[str, Tool[Any]] = {}
        for item in tools:
            made = item if isinstance(item, Tool) else _function_tool(item)
            if made.id in self.tools:
                raise ValidationError(f"agent {name!r} has two tools named {made.id!r}")
            self.tools[made.id] = made

    def __repr__(self) -> str:
        return f"Agent({self.name!r}, tools={list(self.tools)})"

    def bind(self, mastra: Mastra) -> None:
        """Called by :class:`mastra.Mastra` on registration: use its telemetry (and its
        storage and vectors for the memory)."""
        if self.telemetry is None:
            self.telemetry = mastra.telemetry
        if self.memory is not None:
            self.memory.bind(mastra)
        if self._scoring is not None:
            self._scoring.bind(storage=mastra.storage, meter=mastra.telemetry.meter)

    @property
    def model(self) -> LanguageModel:
        if isinstance(self._model, str):
            self._model = get_model(self._model)
        return self._model

    async def aclose(self) -> None:
        """Close the model this agent made from a ``"provider/model"`` string, and finish the
        live scoring still queued."""
        if self._owns_model and not isinstance(self._model, str):
            await self._model.aclose()
        if self._scoring is not None:
            await asyncio.to_thread(self._scoring.shutdown)

    @property
    def _tracer(self) -> Tracer:
        return self.telemetry.tracer if self.telemetry is not None else _QUIET_TRACER

    # -- public entry points --------------------------------------------------------------

    async def generate(self, prompt: Prompt, **options: Unpack[RunOptions]) -> AgentResult:
        """Run to the end and return the :class:`AgentResult`; ``options`` are
        :class:`RunOptions` (``thread_id``, ``resource_id``, ``output``, ``max_steps``,
        ``context``, ``on_step_finish``, ``on_finish``)."""
        result: AgentResult | None = None
        async with contextlib.aclosing(self._run(prompt, streaming=False, **options)) as run:
            async for event in run:
                if isinstance(event, AgentFinish):
                    result = event.result
        assert result is not None
        return result

    async def stream(
        self, prompt: Prompt, **options: Unpack[RunOptions]
    ) -> AsyncGenerator[AgentEvent, None]:
        """The run as events: text and reasoning deltas, tool calls, tool progress, tool
        results, step finishes, and last :class:`AgentFinish`. Leaving the loop early (or
        cancelling) cancels the model request and any running tools."""
        async with contextlib.aclosing(self._run(prompt, streaming=True, **options)) as run:
            async for event in run:
                yield event

    def generate_sync(self, prompt: Prompt, **options: Unpack[RunOptions]) -> AgentResult:
        """``generate`` for scripts and notebooks."""
        return run_sync(
            lambda: self.generate(prompt, **options),
            name="generate_sync()",
            instead="`await agent.generate(...)`",
        )

    def stream_sync(self, prompt: Prompt, **options: Unpack[RunOptions]) -> Iterator[AgentEvent]:
        """``stream`` for scripts: a plain iterator of the same events."""
        with asyncio.Runner() as runner:
            events = self.stream(prompt, **options)
            try:
                while True:
                    try:
                        yield runner.run(events.__anext__())
                    except StopAsyncIteration:
                        return
            finally:
                runner.run(events.aclose())

    def as_tool(self, id: str | None = None, description: str | None = None) -> Tool[str]:
        """This agent as a tool another agent can call with a ``prompt``."""

        class AskInput(msgspec.Struct, forbid_unknown_fields=True):
            prompt: str

        async def ask(args: AskInput, ctx: ToolContext) -> str:
            result = await self.generate(
                args.prompt, thread_id=ctx.thread_id, resource_id=ctx.resource_id
            )
            return result.text

        return Tool(
            id or self.name,
            description
            or self.description
            or f"Ask the {self.name} agent; give it the whole question as prompt.",
            input=AskInput,
            execute=ask,
        )

    # -- the loop -------------------------------------------------------------------------

    async def _system(self, run: RunContext) -> list[Message]:
        if callable(self.instructions):
            made = self.instructions(run)
            text = await made if inspect.isawaitable(made) else made
        else:
            text = self.instructions
        return [Message.system(text)] if text else []

    async def _run(
        self, prompt: Prompt, *, streaming: bool, **options: Unpack[RunOptions]
    ) -> AsyncGenerator[AgentEvent, None]:
        state = await self._prepare(prompt, options)
        model = self.model
        with self._tracer.span(
            "agent.run", **{"gen_ai.agent.name": self.name, "mastra.run_id": state.run.run_id}
        ) as span:
            for index in range(state.limit):
                async for event in self._step(state, model, index, streaming):
                    yield event
                if state.finish != "max_steps":
                    break
            result = await self._conclude(state, model)
            span.set_attributes(
                **{
                    "gen_ai.usage.input_tokens": result.usage.input_tokens,
                    "gen_ai.usage.output_tokens": result.usage.output_tokens,
                    "mastra.steps": len(result.steps),
                    "mastra.finish_reason": result.finish_reason,
                }
            )
            await self._persist(state, result)
            if self._scoring is not None:
                self._scoring.submit(
                    entity_id=self.name,
                    input=prompt,
                    output=result,
                    run_id=result.run_id,
                    trace_id=getattr(span, "trace_id", None),
                )
            await _call(state.on_finish, result)
            yield AgentFinish(result)

    async def _prepare(self, prompt: Prompt, options: RunOptions) -> _RunState:
        """The run's state: its ids, limits and answer format, the tools, and the messages
        (system prompt, what memory recalls for the thread, then the prompt)."""
        thread_id, resource_id = options.get("thread_id"), options.get("resource_id")
        run = RunContext(
            agent=self.name,
            run_id=options.get("run_id") or new_id(),
            thread_id=thread_id,
            resource_id=resource_id,
            context=options.get("context") or {},
        )
        output = options.get("output") or self.output
        new = _as_messages(prompt)
        tools = dict(self.tools)
        remembered: list[Message] = []
        memory = self.memory if thread_id is not None else None
        if memory is not None and thread_id is not None:
            with self._tracer.span("memory.load", thread_id=thread_id):
                remembered = await memory.context(thread_id, resource_id, new)
            tools.update((t.id, t) for t in memory.tools(thread_id, resource_id))
        messages = [*await self._system(run), *remembered, *new]
        return _RunState(
            run=run,
            output=output,
            fmt=_schema_format(output) if output is not None else None,
            limit=options.get("max_steps") or self.max_steps,
            tools=tools,
            memory=memory,
            messages=messages,
            first_new=len(messages) - len(new),
            on_step_finish=options.get("on_step_finish"),
            on_finish=options.get("on_finish"),
        )

    async def _step(
        self, state: _RunState, model: LanguageModel, index: int, streaming: bool
    ) -> AsyncIterator[AgentEvent]:
        """One model call and the tools it asks for; a call without tools ends the run."""
        request = self._request(state.messages, state.fmt, state.tools)
        started = time.perf_counter()
        response: ModelResponse | None = None
        async for event in self._call_model(model, request, streaming):
            if isinstance(event, ModelResponse):
                response = event
            else:
                yield event
        assert response is not None
        state.messages.append(response.message)
        calls = response.message.tool_calls
        results: list[ToolResult] = []
        if calls:
            for call in calls:
                yield ToolCallEvent(call)
            async for item in self._run_tools(calls, state.run, state.tools):
                if isinstance(item, ToolResultEvent):
                    results.append(item.result)
                yield item
            state.messages.append(Message.tool(results))
        step = Step(
            index=index,
            request=request,
            response=response,
            tool_calls=calls,
            tool_results=results,
            usage=response.usage,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        state.steps.append(step)
        state.usage = state.usage + response.usage
        await _call(state.on_step_finish, step)
        yield StepFinish(step)
        if not calls:
            state.finish = response.finish_reason

    async def _conclude(self, state: _RunState, model: LanguageModel) -> AgentResult:
        """The result: the last answer, decoded into ``output`` when one is asked for."""
        text = state.steps[-1].response.text if state.steps else ""
        value = None
        if state.output is not None and state.finish != "max_steps":
            value, text, repair = await self._structured(
                model, state.messages, state.fmt, state.output, text, len(state.steps)
            )
            if repair is not None:
                state.steps.append(repair)
                state.usage = state.usage + repair.usage
        return AgentResult(
            text=text,
            object=value,
            steps=state.steps,
            usage=state.usage,
            finish_reason=state.finish,
            run_id=state.run.run_id,
            messages=state.messages[state.first_new :],
        )

    async def _persist(self, state: _RunState, result: AgentResult) -> None:
        """Save the run's new messages to the thread (with memory and a thread id)."""
        thread_id = state.run.thread_id
        if state.memory is not None and thread_id is not None:
            with self._tracer.span("memory.save", thread_id=thread_id):
                await state.memory.save_messages(
                    thread_id, result.messages, resource_id=state.run.resource_id
                )

    def _request(
        self, messages: list[Message], fmt: JsonSchemaFormat | None, tools: dict[str, Tool[Any]]
    ) -> ModelRequest:
        return ModelRequest(
            messages=list(messages),
            tools=[t.spec for t in tools.values()],
            response_format=fmt,
            settings=self.model_settings,
        )

    async def _call_model(
        self, model: LanguageModel, request: ModelRequest, streaming: bool
    ) -> AsyncIterator[Any]:
        """One model call, traced; yields text/reasoning deltas when streaming, then the
        response."""
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": model.provider,
            "gen_ai.request.model": model.model,
        }
        with self._tracer.span("gen_ai.chat", **attributes) as span:
            if streaming:
                response = None
                async with contextlib.aclosing(model.stream(request)) as events:
                    async for event in events:
                        if isinstance(event, Finish):
                            response = event.response
                        elif isinstance(event, (TextDelta, ReasoningDelta)):
                            yield event
                if response is None:
                    raise MastraError(f"{model.name} ended its stream without finishing")
            else:
                response = await model.generate(request)
            span.set_attributes(
                **{
                    "gen_ai.usage.input_tokens": response.usage.input_tokens,
                    "gen_ai.usage.output_tokens": response.usage.output_tokens,
                    "gen_ai.response.finish_reasons": [response.finish_reason],
                    "gen_ai.response.id": response.id or "",
                }
            )
            yield response

    async def _run_tools(
        self,
        calls: list[ToolCall],
        run: RunContext,
        tools: dict[str, Tool[Any]],
    ) -> AsyncIterator[ToolProgress | ToolResultEvent]:
        """Run the calls concurrently; progress reports are yielded as they come, results in
        the order of the calls. Cancelled with the run."""
        loop = asyncio.get_running_loop()
        updates: asyncio.Queue[ToolProgress] = asyncio.Queue()

        def reporter(call_id: str) -> Callable[[str, dict[str, Any]], None]:
            def report(message: str, data: dict[str, Any]) -> None:
                loop.call_soon_threadsafe(updates.put_nowait, ToolProgress(call_id, message, data))

            return report

        tasks = [
            asyncio.create_task(self._run_tool(call, run, tools, reporter(call.id)))
            for call in calls
        ]
        try:
            pending: set[asyncio.Future[Any]] = set(tasks)
            while pending:
                waiter = asyncio.ensure_future(updates.get())
                done, _ = await asyncio.wait(
                    {*pending, waiter}, return_when=asyncio.FIRST_COMPLETED
                )
                if waiter in done:
                    yield waiter.result()
                else:
                    waiter.cancel()
                pending -= done
            while not updates.empty():
                yield updates.get_nowait()
            for task in tasks:
                outcome: ToolOutcome = task.result()
                yield ToolResultEvent(outcome.result, outcome.duration_ms)
        finally:
            for task in tasks:
                task.cancel()

    async def _run_tool(
        self,
        call: ToolCall,
        run: RunContext,
        tools: dict[str, Tool[Any]],
        report: Callable[[str, dict[str, Any]], None],
    ) -> ToolOutcome:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
        }
        with self._tracer.span("tool.call", **attributes) as span:
            chosen = tools.get(call.name)
            if chosen is None:
                known = ", ".join(sorted(tools)) or "none"
                message = f"unknown tool {call.name!r}; available tools: {known}"
                span.set_status("error", message)
                return ToolOutcome(ToolResult(call.id, call.name, message, is_error=True), message)

            def progress(text: str, data: dict[str, Any]) -> None:
                span.add_event("progress", message=text, **data)
                report(text, data)

            ctx = ToolContext(
                agent=self.name,
                run_id=run.run_id,
                thread_id=run.thread_id,
                resource_id=run.resource_id,
                tool_call_id=call.id,
                tracer=self._tracer,
                on_progress=progress,
                context=run.context,
            )
            outcome = await chosen.run(call, ctx)
            if outcome.error is not None:
                span.set_status("error", outcome.error)
            return outcome

    async def _structured(
        self,
        model: LanguageModel,
        messages: list[Message],
        fmt: JsonSchemaFormat | None,
        output: type[Any],
        text: str,
        steps_so_far: int,
    ) -> tuple[Any, str, Step | None]:
        """Decode the answer into ``output``; on failure ask the model once to repair it."""
        try:
            return msgspec.json.decode(text, type=output), text, None
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            problem = str(exc)
        messages.append(
            Message.user(
                f"Your answer does not match the required JSON schema: {problem}. Reply with only "
                "the corrected JSON."
            )
        )
        request = self._request(messages, fmt, {})
        started = time.perf_counter()
        response: ModelResponse | None = None
        async for event in self._call_model(model, request, streaming=False):
            response = event
        assert response is not None
        messages.append(response.message)
        step = Step(
            index=steps_so_far,
            request=request,
            response=response,
            usage=response.usage,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        try:
            return msgspec.json.decode(response.text, type=output), response.text, step
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValidationError(
                f"agent {self.name!r} could not produce a valid "
                f"{getattr(output, '__name__', 'output')} after one repair ({exc}); the model "
                f"said: {response.text[:500]!r}"
            ) from None
