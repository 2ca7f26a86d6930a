"""``Agent``: a model with instructions and tools, run in a loop until it answers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Unpack

import msgspec

from mastra.agent.continuing import answer, in_order, suspend
from mastra.agent.durable import Decision
from mastra.agent.network import Delegation, NetworkOptions, resolve
from mastra.agent.results import (
    AgentEvent,
    AgentFinish,
    AgentResult,
    PendingToolCall,
    Step,
    StepFinish,
    ToolCallEvent,
    ToolProgress,
    ToolResultEvent,
)
from mastra.agent.run import (
    ContinueOptions,
    Interrupted,
    RunContext,
    RunOptions,
    RunState,
    Suspend,
    call,
    final,
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
from mastra.llm.fallback import FallbackModel
from mastra.llm.types import ModelResponse, ReasoningDelta, TextDelta
from mastra.loops import run_sync
from mastra.messages import Message, ToolCall, ToolResult
from mastra.processors.base import (
    Processor,
    ProcessorContext,
    Tripwire,
    as_processor,
    overrides,
    run_input,
)
from mastra.storage import Storage
from mastra.telemetry import Telemetry, Tracer
from mastra.tools import Tool, ToolContext, ToolOutcome, tool
from mastra.tools.tool import AbortSignal

if TYPE_CHECKING:
    from mastra.evals import Sampling, Scorer
    from mastra.evals.live import LiveScoring
    from mastra.mastra import Mastra
    from mastra.memory import Memory

__all__ = ["Agent", "ContinueOptions", "RunContext", "RunOptions"]

Prompt = str | Message | Sequence[Message]
ModelSpec = str | LanguageModel | Sequence[str | LanguageModel]
Instructions = str | Callable[["RunContext"], str | Awaitable[str]]

_QUIET_TRACER = Tracer(enabled=False)


def _is_memory(value: object) -> bool:
    """Whether value is a Memory. Memory (with RAG, storage and numpy behind it) loads only
    for an agent given one, not with every agent."""
    from mastra.memory import Memory

    return isinstance(value, Memory)


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
            the model and ``aclose()`` / ``async with agent:`` closes it), a LanguageModel
            (yours to close), or a list of them: a :class:`~mastra.llm.FallbackModel` that
            moves to the next on a retryable failure.
        tools: :class:`~mastra.tools.Tool`s or plain typed functions.
        memory: a :class:`mastra.memory.Memory`: with ``thread_id`` (and ``resource_id``) a
            run sees the history, recalled messages and working memory, and its new messages
            are saved.
        max_steps: model calls per run at most.
        model_settings: temperature, max_tokens ... for every call.
        output: a type (msgspec Struct, dataclass, TypedDict ...) for structured answers.
        description: what the agent does (used by :meth:`as_tool` and by supervisors).
        scorers: live scoring, ``{scorer: Sampling(rate=0.1)}`` (or a rate): a sample of runs
            is scored in the background, never delaying the answer, and the scores are saved
            in the registry's storage with the run and trace ids (see ``mastra.evals``).
        input_processors: :mod:`mastra.processors` that see (and may rewrite or reject) the
            messages before the first model call.
        output_processors: processors that see the final result and, streaming, each event.
        agents: sub-agents this agent may delegate to, ``{tool name: agent}`` (or a list,
            named by the agents' names); each is a tool taking a ``prompt``.
        network: how it delegates (hooks, context filter, limits, completion check).
        require_tool_approval: every tool call waits for ``approve`` / ``decline``.
        storage: where suspended runs are kept (default: the registry's storage, else the
            memory's, else an in-process store).
    """

    approval_lease_seconds = 30.0  # a continuing process's claim on a suspended run

    def __init__(
        self,
        name: str,
        instructions: Instructions = "",
        model: ModelSpec = "openai/gpt-4o-mini",
        *,
        tools: Sequence[Tool[Any] | Callable[..., Any]] = (),
        memory: Memory | None = None,
        max_steps: int = 5,
        model_settings: ModelSettings | None = None,
        output: type[Any] | None = None,
        description: str = "",
        telemetry: Telemetry | None = None,
        scorers: Mapping[Scorer, Sampling | float] | None = None,
        input_processors: Sequence[Processor | Any] = (),
        output_processors: Sequence[Processor | Any] = (),
        agents: Mapping[str, Agent] | Sequence[Agent] | None = None,
        network: NetworkOptions | None = None,
        require_tool_approval: bool = False,
        storage: Storage | None = None,
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
        self.storage = storage
        self.require_tool_approval = require_tool_approval
        self._model: ModelSpec = model
        self._owns_model = not isinstance(model, LanguageModel)
        self._own_storage: Storage | None = None
        self._scoring: LiveScoring | None = None
        if scorers:
            from mastra.evals.live import LiveScoring

            self._scoring = LiveScoring(scorers)
        self.tools: dict[str, Tool[Any]] = {}
        for item in tools:
            self._add_tool(item if isinstance(item, Tool) else _function_tool(item))
        self._set_processors(input_processors, output_processors)
        self.network = network or NetworkOptions()
        self.agents = self._add_agents(agents)

    def _add_tool(self, made: Tool[Any]) -> None:
        if made.id in self.tools:
            raise ValidationError(f"agent {self.name!r} has two tools named {made.id!r}")
        self.tools[made.id] = made

    def _set_processors(self, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        self.input_processors = [as_processor(p) for p in inputs]
        self.output_processors = [as_processor(p) for p in outputs]
        self._inputs = [p for p in self.input_processors if overrides(p, "process_input")]
        self._outputs = [p for p in self.output_processors if overrides(p, "process_output")]
        self._stream_outputs = [
            p for p in self.output_processors if overrides(p, "process_output_stream")
        ]

    def _add_agents(self, agents: Mapping[str, Agent] | Sequence[Agent] | None) -> dict[str, Agent]:
        if agents is None:
            return {}
        named = dict(agents) if isinstance(agents, Mapping) else {a.name: a for a in agents}
        for key, agent in named.items():
            if not isinstance(agent, Agent):
                raise ValidationError(
                    f"agents must be Agents, got {type(agent).__name__} for {key!r}"
                )
            if agent is self:
                raise ValidationError(f"agent {self.name!r} cannot delegate to itself")
            self._add_tool(Delegation(key, agent, self.network))
            if agent.telemetry is None:
                agent.telemetry = self.telemetry
        return named

    def __repr__(self) -> str:
        return f"Agent({self.name!r}, tools={list(self.tools)})"

    def bind(self, mastra: Mastra) -> None:
        """Called by :class:`mastra.Mastra` on registration: use its telemetry and storage
        (and its storage and vectors for the memory); sub-agents are bound too."""
        if self.telemetry is None:
            self.telemetry = mastra.telemetry
        if self.storage is None:
            self.storage = mastra.storage
        if self.memory is not None:
            self.memory.bind(mastra)
        if self._scoring is not None:
            self._scoring.bind(storage=mastra.storage, meter=mastra.telemetry.meter)
        for agent in self.agents.values():
            agent.bind(mastra)

    @property
    def model(self) -> LanguageModel:
        if isinstance(self._model, str):
            self._model = get_model(self._model)
        elif not isinstance(self._model, LanguageModel):
            self._model = FallbackModel(self._model)
        return self._model

    async def aclose(self) -> None:
        """Close the model this agent made from a ``"provider/model"`` string (or a list),
        and finish the live scoring still queued."""
        if self._owns_model and isinstance(self._model, LanguageModel):
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
        ``context``, ``on_step_finish``, ``on_finish``, ``run_id``, ``abort_signal``,
        ``memory_read_only``)."""
        return await final(self._run(prompt, streaming=False, **options))

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

    async def approve(
        self, run_id: str, call_id: str, **options: Unpack[ContinueOptions]
    ) -> AgentResult:
        """Approve a pending tool call of a suspended run: when no other call waits, the
        tool runs and the run goes on; returns the next :class:`AgentResult` (suspended
        again while calls still wait). Works from any process sharing the storage; when two
        continue the same run at once, one proceeds and the other gets a
        :class:`ResumeError`, as does an unknown run or call, or a run not suspended."""
        return await answer(self, run_id, call_id, Decision(kind="approve"), options)

    async def decline(
        self, run_id: str, call_id: str, reason: str = "", **options: Unpack[ContinueOptions]
    ) -> AgentResult:
        """Decline a pending tool call: the model is told it was declined (and why) instead
        of getting its result; otherwise as :meth:`approve`."""
        return await answer(self, run_id, call_id, Decision(kind="decline", reason=reason), options)

    async def resume(
        self,
        run_id: str,
        data: Any = None,
        *,
        call_id: str | None = None,
        **options: Unpack[ContinueOptions],
    ) -> AgentResult:
        """Continue a run whose tool called ``ctx.suspend(payload)``: the tool runs again
        with ``ctx.resume_data = data``. ``call_id`` is needed only when several tools
        suspended; otherwise as :meth:`approve`."""
        return await answer(self, run_id, call_id, Decision(kind="resume", data=data), options)

    def approve_sync(
        self, run_id: str, call_id: str, **options: Unpack[ContinueOptions]
    ) -> AgentResult:
        """``approve`` for scripts and notebooks."""
        return run_sync(
            lambda: self.approve(run_id, call_id, **options),
            name="approve_sync()",
            instead="`await agent.approve(...)`",
        )

    def decline_sync(
        self, run_id: str, call_id: str, reason: str = "", **options: Unpack[ContinueOptions]
    ) -> AgentResult:
        """``decline`` for scripts and notebooks."""
        return run_sync(
            lambda: self.decline(run_id, call_id, reason, **options),
            name="decline_sync()",
            instead="`await agent.decline(...)`",
        )

    def resume_sync(
        self,
        run_id: str,
        data: Any = None,
        *,
        call_id: str | None = None,
        **options: Unpack[ContinueOptions],
    ) -> AgentResult:
        """``resume`` for scripts and notebooks."""
        return run_sync(
            lambda: self.resume(run_id, data, call_id=call_id, **options),
            name="resume_sync()",
            instead="`await agent.resume(...)`",
        )

    def as_tool(self, id: str | None = None, description: str | None = None) -> Tool[str]:
        """This agent as a tool another agent can call with a ``prompt``."""

        class AskInput(msgspec.Struct, forbid_unknown_fields=True):
            prompt: str

        async def ask(args: AskInput, ctx: ToolContext) -> str:
            result = await self.generate(
                args.prompt,
                thread_id=ctx.thread_id,
                resource_id=ctx.resource_id,
                abort_signal=ctx.signal,
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

    # -- a run from its prompt ------------------------------------------------------------

    def _state(
        self,
        run: RunContext,
        options: RunOptions | ContinueOptions,
        *,
        limit: int,
        read_only: bool,
    ) -> RunState:
        output = options.get("output") or self.output
        memory = self.memory if run.thread_id is not None else None
        tools = dict(self.tools)
        if memory is not None and not read_only and run.thread_id is not None:
            tools.update((t.id, t) for t in memory.tools(run.thread_id, run.resource_id))
        return RunState(
            run=run,
            output=output,
            fmt=_schema_format(output) if output is not None else None,
            limit=limit,
            tools=tools,
            memory=memory,
            signal=AbortSignal(),
            read_only=read_only or (memory is not None and memory.read_only),
            on_step_finish=options.get("on_step_finish"),
            on_finish=options.get("on_finish"),
        )

    def _run(
        self, prompt: Prompt, *, streaming: bool, **options: Unpack[RunOptions]
    ) -> AsyncGenerator[AgentEvent, None]:
        new = _as_messages(prompt)
        run = RunContext(
            agent=self.name,
            run_id=options.get("run_id") or new_id(),
            thread_id=options.get("thread_id"),
            resource_id=options.get("resource_id"),
            context=options.get("context") or {},
        )
        limit = options.get("max_steps") or self.max_steps
        state = self._state(
            run, options, limit=limit, read_only=bool(options.get("memory_read_only"))
        )
        state.prompt = prompt
        opening = self._prepared(state, self._begin(state, new))
        return self._drive(state, streaming, opening, options.get("abort_signal"))

    async def _system(self, run: RunContext) -> list[Message]:
        if callable(self.instructions):
            made = self.instructions(run)
            text = await made if inspect.isawaitable(made) else made
        else:
            text = self.instructions
        return [Message.system(text)] if text else []

    def _processor_context(self, state: RunState) -> ProcessorContext:
        run = state.run
        return ProcessorContext(
            agent=self.name,
            run_id=run.run_id,
            thread_id=run.thread_id,
            resource_id=run.resource_id,
            context=run.context,
        )

    async def _begin(self, state: RunState, new: list[Message]) -> None:
        """The messages of a new run: the system prompt, what memory recalls for the thread,
        the prompt; then the input processors."""
        remembered: list[Message] = []
        run = state.run
        if state.memory is not None and run.thread_id is not None:
            with self._tracer.span("memory.load", thread_id=run.thread_id):
                remembered = await state.memory.context(
                    run.thread_id, run.resource_id, new, ctx=self._processor_context(state)
                )
        messages = [*await self._system(run), *remembered, *new]
        first_new = len(messages) - len(new)
        if self._inputs:
            messages = await run_input(self._inputs, messages, self._processor_context(state))
            # The run's own messages are the last ones, as many as the prompt had (processors
            # rewrite in place or drop older ones); never the system prompt and notes.
            head = next((i for i, m in enumerate(messages) if m.role != "system"), len(messages))
            first_new = max(head, len(messages) - len(new))
        state.messages, state.first_new = messages, first_new

    # -- driving a run ----------------------------------------------------------------------

    def _watch(self, state: RunState, *signals: AbortSignal | None) -> Callable[[], None]:
        """Abort the run when any of ``signals`` fires: its own signal is aborted (tools
        and sub-agents see it), and if the run has control its task is cancelled (the
        model stream and the tools stop at once). Returns the function that unhooks."""
        if not any(signals):
            return _nothing

        def interrupt(reason: str | None) -> None:
            state.signal.abort(reason or "aborted")
            task = state.task
            if state.inside and task is not None and not task.done() and task is not _current():
                state.interrupted = True
                task.cancel()

        removers = [
            signal.on_abort(functools.partial(lambda s: interrupt(s.reason), signal))
            for signal in signals
            if signal is not None
        ]

        def unhook() -> None:
            for remove in removers:
                remove()

        return unhook

    async def _drive(
        self,
        state: RunState,
        streaming: bool,
        opening: AsyncGenerator[AgentEvent, None],
        *signals: AbortSignal | None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run the loop from ``opening`` (a new run's preparation, or a resumed run's
        pending step) to the result, apply the output processors, save to
        memory, and end with AgentFinish; a tripwire, a suspension or an abort end the run
        with their own result."""
        model = self.model
        run_attributes = {"gen_ai.agent.name": self.name, "mastra.run_id": state.run.run_id}
        with self._tracer.span("agent.run", **run_attributes) as span:
            state.task = asyncio.current_task()
            unhook = self._watch(state, *signals)
            filtered = streaming and bool(self._stream_outputs)
            try:
                source: AsyncGenerator[AgentEvent, None] | None = opening
                while source is not None:
                    try:
                        async for event in source:
                            outs = await self._stream_out(state, event) if filtered else (event,)
                            for out in outs:
                                state.inside = False
                                yield out
                                state.inside = True
                                if state.signal.aborted:
                                    raise Interrupted
                    except BaseException:
                        await source.aclose()  # an abort between events stops the model
                        raise
                    source = await self._next_step(state, model, streaming)
                result = await self._conclude(state, model)
                if self._outputs:
                    result = await self._process_output(state, result)
            except Tripwire as trip:
                span.set_attributes(
                    **{"mastra.tripwire": trip.reason, "mastra.tripwire.processor": trip.processor}
                )
                result = self._ended(state, "tripwire", tripwire=trip.reason)
            except Suspend as pause:
                result = await suspend(self, state, pause)
            except Interrupted:
                result = self._ended(state, "aborted")
            except asyncio.CancelledError:
                task = state.task
                if not state.interrupted or task is None or task.uncancel() > 0:
                    raise
                result = self._ended(state, "aborted")
            finally:
                unhook()
            span.set_attributes(
                **{
                    "gen_ai.usage.input_tokens": result.usage.input_tokens,
                    "gen_ai.usage.output_tokens": result.usage.output_tokens,
                    "mastra.steps": len(result.steps),
                    "mastra.finish_reason": result.finish_reason,
                }
            )
            if result.status == "completed" and result.finish_reason not in _UNSAVED:
                await self._persist(state, result)
            if self._scoring is not None:
                self._scoring.submit(
                    entity_id=self.name,
                    input=state.prompt,
                    output=result,
                    run_id=result.run_id,
                    trace_id=getattr(span, "trace_id", None),
                )
            await call(state.on_finish, result)
            yield AgentFinish(result)

    async def _prepared(
        self, state: RunState, preparation: Coroutine[Any, Any, None]
    ) -> AsyncGenerator[AgentEvent, None]:
        """A new run's preparation as the first source of events (it has none; its first
        step follows)."""
        if state.signal.aborted:  # aborted before it began
            preparation.close()
            raise Interrupted
        await preparation
        return
        yield  # an async generator: the steps follow

    async def _next_step(
        self, state: RunState, model: LanguageModel, streaming: bool
    ) -> AsyncGenerator[AgentEvent, None] | None:
        """The next step's events, or None when the run is over (an answer that passes the
        network's completion check, or ``max_steps``)."""
        if state.finish != "max_steps":
            check = self.network.completion_check
            if check is None or await self._accepted(state):
                return None
            state.finish = "max_steps"
        if len(state.steps) >= state.limit:
            return None
        if state.signal.aborted:  # aborted from this task (a callback, a processor)
            raise Interrupted
        return self._step(state, model, streaming)

    async def _stream_out(self, state: RunState, event: AgentEvent) -> Sequence[AgentEvent]:
        """``event`` after the output processors' ``process_output_stream``."""
        if state.stream_contexts is None:
            base = self._processor_context(state)
            state.stream_contexts = [base.for_processor(p) for p in self._stream_outputs]
        events: list[AgentEvent] = [event]
        for processor, ctx in zip(self._stream_outputs, state.stream_contexts, strict=True):
            passed: list[AgentEvent] = []
            for item in events:
                out = await processor.process_output_stream(item, ctx)
                if isinstance(out, Sequence):  # events are Structs, never sequences
                    passed.extend(out)
                elif out is not None:
                    passed.append(out)
            events = passed
        return events

    async def _accepted(self, state: RunState) -> bool:
        """Whether the supervisor's answer passes the network's completion check; if not,
        its feedback goes back as a user message."""
        check = self.network.completion_check
        assert check is not None
        draft = AgentResult(
            text=state.steps[-1].response.text,
            steps=state.steps,
            usage=state.usage,
            finish_reason=state.finish,
            run_id=state.run.run_id,
            messages=state.messages[state.first_new :],
        )
        verdict = await resolve(check(draft))
        if verdict is None or verdict is True:
            return True
        feedback = verdict if isinstance(verdict, str) else _NOT_DONE
        state.messages.append(Message.user(feedback))
        return False

    def _ended(self, state: RunState, reason: str, *, tripwire: str | None = None) -> AgentResult:
        """The result of a run stopped by a tripwire or an abort: no text."""
        return AgentResult(
            text="",
            steps=state.steps,
            usage=state.usage,
            finish_reason=reason,
            run_id=state.run.run_id,
            messages=state.messages[state.first_new :],
            tripwire=tripwire,
        )

    async def _process_output(self, state: RunState, result: AgentResult) -> AgentResult:
        ctx = self._processor_context(state)
        for processor in self._outputs:
            ctx.processor = processor.name
            result = await processor.process_output(result, ctx)
        return result

    # -- one step ---------------------------------------------------------------------------

    async def _step(
        self, state: RunState, model: LanguageModel, streaming: bool
    ) -> AsyncGenerator[AgentEvent, None]:
        """One model call and the tools it asks for; a call without tools ends the run. Calls
        that need approval, or tools that suspend, suspend the run (raising Suspend)."""
        request = self._request(state.messages, state.fmt, state.tools)
        started = time.perf_counter()
        response: ModelResponse | None = None
        answers = self._call_model(model, request, streaming)
        try:
            async for event in answers:
                if isinstance(event, ModelResponse):
                    response = event
                else:
                    yield event
        except BaseException:
            await answers.aclose()  # an abort between two deltas closes the model's stream
            raise
        assert response is not None
        state.messages.append(response.message)
        calls = response.message.tool_calls
        results: dict[str, ToolResult] = {}
        pending: list[PendingToolCall] = []
        if calls:
            for call in calls:
                yield ToolCallEvent(call)
            runnable = self._triage(state, calls, results, pending)
            tools = self._run_tools(runnable, state, {}, results, pending)
            try:
                async for event in tools:
                    yield event
            except BaseException:
                await tools.aclose()
                raise
        if pending:
            elapsed = (time.perf_counter() - started) * 1000
            raise Suspend(request, response, elapsed, results, in_order(calls, pending))
        yield StepFinish(await self._end_step(state, request, response, results, started))

    def _triage(
        self,
        state: RunState,
        calls: list[ToolCall],
        results: dict[str, ToolResult],
        pending: list[PendingToolCall],
    ) -> list[ToolCall]:
        """The calls to run now; the others wait for approval (into ``pending``) or are
        refused (delegations over the network's limit, into ``results``)."""
        runnable: list[ToolCall] = []
        for asked in calls:
            chosen = state.tools.get(asked.name)
            if isinstance(chosen, Delegation):
                state.delegations += 1
                if state.delegations > self.network.max_iterations:
                    results[asked.id] = ToolResult(
                        asked.id, asked.name, _over_limit(self.network.max_iterations), True
                    )
                    continue
            if chosen is not None and (chosen.requires_approval or self.require_tool_approval):
                pending.append(PendingToolCall(tool_call=asked))
            else:
                runnable.append(asked)
        return runnable

    async def _end_step(
        self,
        state: RunState,
        request: ModelRequest,
        response: ModelResponse,
        results: dict[str, ToolResult],
        started: float,
    ) -> Step:
        """Record the finished step (its results, in call order, go to the model next);
        a step without tool calls ends the run."""
        calls = response.message.tool_calls
        ordered = [results[c.id] for c in calls]
        if ordered:
            state.messages.append(Message.tool(ordered))
        step = Step(
            index=len(state.steps),
            request=request,
            response=response,
            tool_calls=calls,
            tool_results=ordered,
            usage=response.usage,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        state.steps.append(step)
        state.usage = state.usage + response.usage
        if not calls:
            state.finish = response.finish_reason
        await call(state.on_step_finish, step)
        return step

    async def _conclude(self, state: RunState, model: LanguageModel) -> AgentResult:
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

    async def _persist(self, state: RunState, result: AgentResult) -> None:
        """Save the run's new messages to the thread (with memory and a thread id, unless
        read-only). Shielded: a cancel that arrives while saving leaves the turn saved
        whole (messages and their recall index), never half."""
        thread_id = state.run.thread_id
        if state.memory is None or thread_id is None or state.read_only:
            return
        with self._tracer.span("memory.save", thread_id=thread_id):
            await asyncio.shield(
                state.memory.save_messages(
                    thread_id, result.messages, resource_id=state.run.resource_id
                )
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
    ) -> AsyncGenerator[Any, None]:
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
        state: RunState,
        resume: dict[str, Any],
        results: dict[str, ToolResult],
        pending: list[PendingToolCall],
    ) -> AsyncGenerator[ToolProgress | ToolResultEvent, None]:
        """Run the calls concurrently; progress reports are yielded as they come, results
        in the order of the calls (and put in ``results``; tools that suspended go to
        ``pending``). Cancelled with the run: the run's signal is aborted first, so tools
        that cannot be interrupted (sync ones in threads) see ``ctx.cancelled``."""
        if not calls:
            return
        loop = asyncio.get_running_loop()
        # One queue carries progress reports and, as each tool finishes, its task: the loop
        # below wakes once per event, whatever the number of calls.
        updates: asyncio.Queue[ToolProgress | asyncio.Task[ToolOutcome]] = asyncio.Queue()

        def reporter(call_id: str) -> Callable[[str, dict[str, Any]], None]:
            def report(message: str, data: dict[str, Any]) -> None:
                loop.call_soon_threadsafe(updates.put_nowait, ToolProgress(call_id, message, data))

            return report

        seen = tuple(state.messages)
        tasks = [
            asyncio.create_task(
                self._run_tool(asked, state, reporter(asked.id), seen, resume.get(asked.id))
            )
            for asked in calls
        ]
        for task in tasks:
            task.add_done_callback(updates.put_nowait)
        try:
            running = len(tasks)
            while running:
                update = await updates.get()
                if isinstance(update, ToolProgress):
                    yield update
                else:
                    running -= 1
            while not updates.empty():
                late = updates.get_nowait()
                if isinstance(late, ToolProgress):
                    yield late
            for asked, task in zip(calls, tasks, strict=True):
                outcome: ToolOutcome = task.result()
                if outcome.suspended:
                    suspended = PendingToolCall(
                        tool_call=asked, kind="suspend", payload=outcome.suspend_payload
                    )
                    pending.append(suspended)
                    continue
                results[asked.id] = outcome.result
                yield ToolResultEvent(outcome.result, outcome.duration_ms)
        finally:
            if not all(task.done() for task in tasks):
                state.signal.abort("cancelled")
            for task in tasks:
                task.cancel()

    async def _run_tool(
        self,
        call: ToolCall,
        state: RunState,
        report: Callable[[str, dict[str, Any]], None],
        seen: Sequence[Message],
        resume_data: Any,
    ) -> ToolOutcome:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
        }
        with self._tracer.span("tool.call", **attributes) as span:
            chosen = state.tools.get(call.name)
            if chosen is None:
                known = ", ".join(sorted(state.tools)) or "none"
                message = f"unknown tool {call.name!r}; available tools: {known}"
                span.set_status("error", message)
                return ToolOutcome(ToolResult(call.id, call.name, message, is_error=True), message)
            if isinstance(chosen, Delegation):
                span.set_attribute("mastra.delegation.agent", chosen.agent.name)

            def progress(text: str, data: dict[str, Any]) -> None:
                span.add_event("progress", message=text, **data)
                report(text, data)

            run = state.run
            ctx = ToolContext(
                agent=self.name,
                run_id=run.run_id,
                thread_id=run.thread_id,
                resource_id=run.resource_id,
                tool_call_id=call.id,
                tracer=self._tracer,
                on_progress=progress,
                context=run.context,
                signal=state.signal,
                resume_data=resume_data,
                messages=seen,
            )
            outcome = await chosen.run(call, ctx)
            if outcome.error is not None:
                span.set_status("error", outcome.error)
            elif outcome.suspended:
                span.add_event("suspended")
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


_UNSAVED = frozenset({"tripwire", "aborted"})
_NOT_DONE = (
    "The task is not complete yet. Keep going: delegate to the agents you have or finish the "
    "answer."
)


def _nothing() -> None:
    return None


def _current() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None


def _over_limit(limit: int) -> str:
    return (
        f"delegation limit reached ({limit} per run); answer with what you have instead of "
        "delegating again"
    )
