"""Steps: typed units of work a workflow runs, and the context they run in."""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol, overload

import msgspec

from mastra.errors import WorkflowError, WorkflowGraphError, WorkflowValidationError

__all__ = ["EventWaiter", "Step", "StepContext", "StepResult", "Suspend", "step"]


class Suspend(Exception):
    """Raised by ``ctx.suspend``: the run stops here and waits for ``resume``."""

    def __init__(self, payload: Any) -> None:
        super().__init__("suspended")
        self.payload = payload


class StepResult(msgspec.Struct, kw_only=True):
    """What happened to one step: status, output or error, timing, attempts. A timer's
    record is ``waiting`` until it fires, its deadline in ``suspend_payload["until"]``."""

    status: str  # success | failed | suspended | waiting | skipped
    output: Any = None
    error: str | None = None
    suspend_payload: Any = None
    started_at: float = 0.0
    ended_at: float = 0.0
    attempts: int = 0


class EventWaiter(Protocol):
    """What ``ctx.wait_for_event`` asks of the run executing the step."""

    async def wait_event(
        self, step_key: str, name: str, index: int, timeout: float | None
    ) -> Any: ...


class StepContext:
    """Passed to every step: ids, the attempt number, ``resume_data`` after a resume, the
    results of earlier steps, ``suspend()``, ``wait_for_event()`` and an
    ``idempotency_key`` for side effects."""

    def __init__(
        self,
        *,
        workflow_id: str,
        run_id: str,
        step_id: str,
        attempt: int,
        resume_data: Any,
        results: dict[str, StepResult],
        mastra: Any,
        suspend_schema: Any = None,
        events: Mapping[str, Any] | None = None,
        waiter: EventWaiter | None = None,
    ) -> None:
        self.workflow_id, self.run_id, self.step_id = workflow_id, run_id, step_id
        self.attempt = attempt
        self.resume_data = resume_data
        self.mastra = mastra
        self._results = results
        self._suspend_schema = suspend_schema
        self._events, self._waiter = events, waiter
        self._waited: Counter[str] = Counter()

    @property
    def idempotency_key(self) -> str:
        """The same for every execution of this step in this run (a retry, or a run
        continued after its process died): pass it to payment APIs and the like, or use it
        as a unique key, so a side effect happens once even if the step body runs again."""
        return f"{self.workflow_id}:{self.run_id}:{self.step_id}"

    async def wait_for_event(self, name: str, timeout: float | None = None) -> Any:
        """The data of the next event ``name`` sent to this run (``workflow.send_event``),
        waiting up to ``timeout`` seconds (then :class:`TimeoutError`). An event sent before
        the wait starts is kept for it. On a queued run the wait holds no worker: the run
        is set aside and this step runs again when the event (or the timeout) arrives, so
        put the wait first in its step. With the step's ``events=`` schemas the data is
        converted to the declared type."""
        if self._events is not None and name not in self._events:
            raise WorkflowError(
                f"step {self.step_id!r} declares the events {sorted(self._events)}; "
                f"{name!r} is not one of them"
            )
        if self._waiter is None:
            raise WorkflowError(
                f"step {self.step_id!r} waits for an event, which needs the workflow's storage "
                "to be SQLite or PostgreSQL"
            )
        self._waited[name] += 1
        data = await self._waiter.wait_event(self.step_id, name, self._waited[name], timeout)
        schema = self._events.get(name) if self._events is not None else None
        if schema is None:
            return data
        return conform(data, schema, f"event {name!r} for step {self.step_id!r}")

    async def suspend(self, payload: Any = None) -> Any:
        """Stop the run here (its snapshot is saved); ``run.resume(step=..., data=...)``
        runs this step again with ``ctx.resume_data`` set. With the step's ``suspend=``
        schema, the payload is checked first (a ValidationError fails the attempt)."""
        if self._suspend_schema is not None:
            payload = conform(
                payload, self._suspend_schema, f"step {self.step_id!r} suspend payload"
            )
        raise Suspend(payload)

    def get_step_result(self, step_id: str) -> Any:
        """The output of an earlier step (None when it did not run)."""
        result = self._results.get(step_id)
        return result.output if result is not None else None


def conform(value: Any, schema: Any, what: str) -> Any:
    """``value`` converted to ``schema`` (a Struct or any type msgspec converts), or a
    ValidationError that names the offending field."""
    try:
        return msgspec.convert(msgspec.to_builtins(value), schema)
    except (msgspec.ValidationError, TypeError) as exc:
        raise WorkflowValidationError(f"{what} is not {_name(schema)}: {exc}") from None


def _name(schema: Any) -> str:
    return getattr(schema, "__name__", repr(schema))


class Step:
    """A step: ``execute(ctx, data)`` (sync or async) with optional input and output types
    (msgspec Structs or any type msgspec converts), retries with exponential backoff, a
    timeout in seconds, and for a step that suspends, the schemas of its suspend payload
    (``suspend``) and of the data it is resumed with (``resume``)."""

    def __init__(
        self,
        id: str,
        execute: Callable[..., Any],
        *,
        input: Any = None,
        output: Any = None,
        retries: int = 0,
        backoff: float = 0.1,
        timeout: float | None = None,
        description: str = "",
        resume: Any = None,
        suspend: Any = None,
        events: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(id, str) or not id:
            raise WorkflowGraphError(f"a step needs a non-empty string id, got {id!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise WorkflowGraphError(
                f"step {id!r}: retries must be an integer >= 0, got {retries!r}"
            )
        self.id, self.execute, self.input, self.output = id, execute, input, output
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.description = description
        self.resume, self.suspend = resume, suspend
        self.events = dict(events) if events is not None else None

    def resume_data(self, data: Any) -> Any:
        """Resume data checked against the ``resume`` schema (as is, without one)."""
        if self.resume is None or data is None:
            return data
        return conform(data, self.resume, f"resume data for step {self.id!r}")

    async def call(self, ctx: StepContext, data: Any) -> Any:
        if self.input is not None:
            data = conform(data, self.input, f"step {self.id!r} input")
        value = self.execute(ctx, data)
        if inspect.isawaitable(value):
            value = await value
        if self.output is not None:
            value = conform(value, self.output, f"step {self.id!r} output")
        return value

    def __repr__(self) -> str:
        return f"Step({self.id!r})"


@overload
def step(fn: Callable[..., Any], /) -> Step: ...


@overload
def step(
    *,
    id: str | None = None,
    input: Any = None,
    output: Any = None,
    retries: int = 0,
    backoff: float = 0.1,
    timeout: float | None = None,
    resume: Any = None,
    suspend: Any = None,
    events: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    id: str | None = None,
    input: Any = None,
    output: Any = None,
    retries: int = 0,
    backoff: float = 0.1,
    timeout: float | None = None,
    resume: Any = None,
    suspend: Any = None,
    events: Mapping[str, Any] | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """``@step`` / ``@step(id=..., input=..., output=..., retries=..., timeout=...,
    resume=..., suspend=..., events=...)`` on ``fn(ctx, data)``; input and output default
    to the function's annotations. ``events`` maps the names of the events the step waits
    for to the types of their data (None: any JSON)."""

    def make(f: Callable[..., Any]) -> Step:
        hints = {k: v for k, v in inspect.get_annotations(f, eval_str=True).items()}
        params = list(inspect.signature(f).parameters)
        declared_in = hints.get(params[1]) if len(params) > 1 else None
        return Step(
            id or f.__name__,
            f,
            input=input if input is not None else declared_in,
            output=output if output is not None else hints.get("return"),
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            description=inspect.getdoc(f) or "",
            resume=resume,
            suspend=suspend,
            events=events,
        )

    return make(fn) if fn is not None else make
