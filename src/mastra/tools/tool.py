"""``Tool`` and ``@tool``: typed functions the model can call, with JSON Schema, argument
validation, timeouts and errors that go back to the model instead of crashing the run."""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import time
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

import msgspec

from mastra.errors import ValidationError
from mastra.llm.types import ToolSpec
from mastra.messages import Message, ToolCall, ToolResult
from mastra.tools.docstrings import parse_docstring

__all__ = ["AbortSignal", "Tool", "ToolContext", "ToolOutcome", "ToolSuspended", "tool"]

R = TypeVar("R")


class AbortSignal:
    """A flag that stops a run from outside, and that tools can watch (like the web's
    ``AbortSignal``): ``signal.abort(reason)`` once; ``signal.aborted``, ``signal.reason``;
    ``await signal.wait()``; ``on_abort(callback)``. Abort it from the event loop's thread;
    any thread may read ``aborted``."""

    __slots__ = ("_callbacks", "_event", "aborted", "reason")

    def __init__(self) -> None:
        self.aborted = False
        self.reason: str | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._event: asyncio.Event | None = None

    def abort(self, reason: str = "aborted") -> None:
        """Abort (later calls do nothing): waiters wake and callbacks run, in order."""
        if self.aborted:
            return
        self.aborted, self.reason = True, reason
        if self._event is not None:
            self._event.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_abort(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` when aborted (at once if already); returns a function that
        takes the callback back (do, when a long-lived signal outlives what it guards)."""
        if self.aborted:
            callback()
            return _nothing
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    async def wait(self) -> str:
        """Wait until aborted; returns the reason."""
        if not self.aborted:
            if self._event is None:
                self._event = asyncio.Event()
            await self._event.wait()
        return self.reason or "aborted"

    def __repr__(self) -> str:
        return f"AbortSignal(aborted={self.aborted}, reason={self.reason!r})"


def _nothing() -> None:
    return None


class ToolSuspended(Exception):
    """Raised by ``ctx.suspend(payload)``: the tool stops and its run waits for
    ``agent.resume(run_id, data)``."""

    def __init__(self, payload: Any) -> None:
        super().__init__("tool suspended")
        self.payload = payload


class ToolContext:
    """What a tool may ask for by declaring a parameter of this type: the agent's name, the
    run id, thread and resource ids, the run's ``context`` values (the server puts the
    caller's auth claims under ``context["auth"]``), the tracer, ``progress()`` to report
    how far it got (recorded on the tool's span and streamed to the caller), the run's
    ``signal`` (``cancelled`` / ``await wait_cancelled()``: stop cooperatively when the run
    is cancelled), ``suspend(payload)`` with ``resume_data`` on the second run, and the
    ``messages`` the model had seen when it asked for this call."""

    def __init__(
        self,
        *,
        agent: str | None = None,
        run_id: str = "",
        thread_id: str | None = None,
        resource_id: str | None = None,
        tool_call_id: str = "",
        tracer: Any = None,
        on_progress: Callable[[str, dict[str, Any]], None] | None = None,
        context: Mapping[str, Any] | None = None,
        signal: AbortSignal | None = None,
        resume_data: Any = None,
        messages: Sequence[Message] = (),
    ) -> None:
        self.agent, self.run_id = agent, run_id
        self.context: Mapping[str, Any] = context or {}
        self.thread_id, self.resource_id = thread_id, resource_id
        self.tool_call_id = tool_call_id
        self.tracer = tracer
        self.signal = signal if signal is not None else AbortSignal()
        self.resume_data = resume_data
        self.messages = messages
        self._on_progress = on_progress

    def progress(self, message: str, **data: Any) -> None:
        """Report progress: ``ctx.progress("fetched page", page=2)``."""
        if self._on_progress is not None:
            self._on_progress(message, data)

    @property
    def cancelled(self) -> bool:
        """True once the run is cancelled or aborted: stop at the next good point (sync tools
        in worker threads cannot be interrupted otherwise)."""
        return self.signal.aborted

    async def wait_cancelled(self) -> str:
        """Wait until the run is cancelled; returns the reason."""
        return await self.signal.wait()

    async def suspend(self, payload: Any = None) -> Any:
        """Stop here and suspend the run with ``payload`` (JSON-like values: it is stored);
        ``agent.resume(run_id, data)`` runs this tool again with ``ctx.resume_data = data``.
        Inside an agent run only."""
        try:
            msgspec.json.encode(payload)
        except (TypeError, msgspec.EncodeError) as exc:
            raise ValidationError(f"a suspend payload must be JSON-serialisable: {exc}") from None
        raise ToolSuspended(payload)


class _Timeout(Exception):
    """The tool ran past its ``timeout``."""


class ToolOutcome(msgspec.Struct, frozen=True):
    """What running one tool call produced: the result sent to the model, the error text
    when it failed, and how long it took."""

    result: ToolResult
    error: str | None = None
    duration_ms: float = 0.0
    invalid_arguments: bool = False  # the call's arguments failed validation
    suspended: bool = False  # the tool called ctx.suspend(payload)
    suspend_payload: Any = None


def _context_parameter(fn: Callable[..., Any]) -> str | None:
    hints = typing.get_type_hints(fn)
    for name in inspect.signature(fn).parameters:
        if hints.get(name) is ToolContext:
            return name
    return None


def _input_struct(fn: Callable[..., Any], skip: str | None) -> type[msgspec.Struct]:
    """A Struct type whose fields are the function's parameters (types and defaults)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: list[Any] = []
    for name, param in inspect.signature(fn).parameters.items():
        if name == skip:
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ValidationError(
                f"tool {fn.__name__!r} takes *{name}; tools need named "
                "parameters the model can fill"
            )
        annotation = hints.get(name, Any)
        if param.default is inspect.Parameter.empty:
            fields.append((name, annotation))
        elif isinstance(param.default, (list, dict, set)):  # a fresh copy for every call
            fields.append(
                (
                    name,
                    annotation,
                    msgspec.field(default_factory=functools.partial(copy.deepcopy, param.default)),
                )
            )
        else:
            fields.append((name, annotation, param.default))
    return msgspec.defstruct(
        f"{fn.__name__}_input", fields, forbid_unknown_fields=True, kw_only=True
    )


def _schema_of(struct: type[Any], descriptions: dict[str, str]) -> dict[str, Any]:
    """The JSON Schema of a Struct as an object schema (its own $defs kept beside it)."""
    schema = msgspec.json.schema(struct)
    defs = schema.pop("$defs", {})
    ref = schema.get("$ref", "")
    root = defs.pop(ref.rsplit("/", 1)[-1], schema) if ref else schema
    root = dict(root)
    root.pop("title", None)
    properties = root.get("properties", {})
    for name, text in descriptions.items():
        if name in properties and text and "description" not in properties[name]:
            properties[name] = {**properties[name], "description": text}
    root.setdefault("properties", {})
    root.setdefault("type", "object")
    if defs:
        root["$defs"] = defs
    return root


_SCHEMAS: dict[tuple[type[Any], tuple[tuple[str, str], ...]], dict[str, Any]] = {}


class Tool(Generic[R]):
    """A tool the model may call.

    Args:
        id: the name the model sees.
        description: what it does (the model reads this to decide).
        input: a Struct describing the arguments (JSON Schema and validation).
        output: a Struct the result is validated against (optional).
        execute: ``fn(args)`` with an ``input`` instance, or ``fn(args, ctx)``; sync or async.
        timeout: seconds before the call fails with a timeout error sent to the model.
        requires_approval: an agent run that reaches a call of this tool suspends until the
            call is approved (``agent.approve``) or declined (``agent.decline``).
    """

    def __init__(
        self,
        id: str,
        description: str = "",
        *,
        input: type[msgspec.Struct] | None = None,
        output: type[Any] | None = None,
        execute: Callable[..., R | Awaitable[R]],
        timeout: float | None = None,
        requires_approval: bool = False,
    ) -> None:
        if not id or not isinstance(id, str):
            raise ValidationError(f"a tool needs a non-empty string id, got {id!r}")
        self.id = id
        self.description = description
        self.input = input or msgspec.defstruct(f"{id}_input", [], forbid_unknown_fields=True)
        self.output = output
        self.timeout = timeout
        self.requires_approval = requires_approval
        self._execute = execute
        self._descriptions: dict[str, str] = {}
        self._call: Callable[[Any, ToolContext], Any] = self._call_with_struct
        self._is_async = inspect.iscoroutinefunction(execute)

    @functools.cached_property
    def parameters(self) -> dict[str, Any]:
        """The JSON Schema of the arguments (built on first use, then cached)."""
        key = (self.input, tuple(sorted(self._descriptions.items())))
        schema = _SCHEMAS.get(key)
        if schema is None:  # tools made per run from one input type share one schema
            schema = _SCHEMAS[key] = _schema_of(self.input, self._descriptions)
        return schema

    @functools.cached_property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.id, self.description, self.parameters)

    async def _invoke(self, args: Any, ctx: ToolContext) -> Any:
        """Async tools are awaited; sync ones run in a worker thread (context copied), so
        they neither block the event loop nor each other."""
        if self._is_async:
            return await self._call(args, ctx)
        return await asyncio.to_thread(self._call, args, ctx)

    def _call_with_struct(self, args: Any, ctx: ToolContext) -> Any:
        if len(inspect.signature(self._execute).parameters) >= 2:
            return self._execute(args, ctx)
        return self._execute(args)

    async def run(self, call: ToolCall, ctx: ToolContext | None = None) -> ToolOutcome:
        """Validate the call's arguments, execute, validate the output. Every failure becomes
        an error result for the model (never an exception); cancellation still propagates."""
        started = time.perf_counter()
        ctx = ctx or ToolContext(tool_call_id=call.id)
        error: str | None = None
        content: Any = None
        try:
            if call.raw_arguments is not None:
                raise ValidationError(
                    f"arguments are not a JSON object: {call.raw_arguments[:200]!r}"
                )
            args = msgspec.convert(call.arguments, self.input)
            try:
                value = await asyncio.wait_for(self._invoke(args, ctx), self.timeout)
            except TimeoutError:
                if self.timeout is None:
                    raise  # the tool's own TimeoutError: reported below as its failure
                raise _Timeout from None
            if self.output is not None:
                value = msgspec.convert(msgspec.to_builtins(value), self.output)
            content = msgspec.to_builtins(value)
        except ToolSuspended as suspended:
            result = ToolResult(call.id, self.id, None)
            duration = (time.perf_counter() - started) * 1000
            return ToolOutcome(
                result, None, duration, suspended=True, suspend_payload=suspended.payload
            )
        except msgspec.ValidationError as exc:
            error = f"invalid arguments for tool {self.id!r}: {exc}"
        except _Timeout:
            error = f"tool {self.id!r} timed out after {self.timeout} s"
        except ValidationError as exc:
            error = f"tool {self.id!r} cannot run: {exc}"
        except Exception as exc:  # a tool's own failure is reported to the model
            error = f"tool {self.id!r} failed: {type(exc).__name__}: {exc}"
        result = ToolResult(
            call.id, self.id, error if error is not None else content, is_error=error is not None
        )
        invalid = error is not None and error.startswith("invalid arguments")
        return ToolOutcome(result, error, (time.perf_counter() - started) * 1000, invalid)

    def __repr__(self) -> str:
        return f"Tool({self.id!r})"


class FunctionTool(Tool[R]):
    """A tool made from a plain function by ``@tool``: its parameters are the arguments."""

    def __init__(
        self,
        fn: Callable[..., R | Awaitable[R]],
        *,
        id: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        requires_approval: bool = False,
    ) -> None:
        summary, descriptions = parse_docstring(fn.__doc__)
        self._context_name = _context_parameter(fn)
        super().__init__(
            id or fn.__name__,
            summary if description is None else description,
            input=_input_struct(fn, self._context_name),
            execute=fn,
            timeout=timeout,
            requires_approval=requires_approval,
        )
        self._descriptions = descriptions
        self._fn = fn
        self._call = self._call_function
        functools.update_wrapper(self, fn)

    def _call_function(self, args: Any, ctx: ToolContext) -> Any:
        kwargs = {name: getattr(args, name) for name in args.__struct_fields__}
        if self._context_name is not None:
            kwargs[self._context_name] = ctx
        return self._fn(**kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Still callable as the plain function."""
        return self._fn(*args, **kwargs)


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool[Any]: ...


@overload
def tool(
    *,
    id: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
) -> Callable[[Callable[..., Any]], FunctionTool[Any]]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    id: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
) -> FunctionTool[Any] | Callable[[Callable[..., Any]], FunctionTool[Any]]:
    """Turn a typed sync or async function into a :class:`Tool`: ``@tool``,
    ``@tool(timeout=5)`` or ``@tool(requires_approval=True)``. The docstring's summary
    describes the tool and its parameter sections describe the arguments; a parameter typed
    :class:`ToolContext` receives the run's context instead of a model argument."""
    options: dict[str, Any] = {
        "id": id,
        "description": description,
        "timeout": timeout,
        "requires_approval": requires_approval,
    }
    if fn is not None:
        return FunctionTool(fn, **options)
    return lambda f: FunctionTool(f, **options)
