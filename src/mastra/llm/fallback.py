"""``FallbackModel``: several models behind one, the next used when one fails for a reason
another may not have (rate limit, server error, timeout, connection), with a circuit breaker
per model so that a failing one is skipped for a while."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from mastra.errors import ServiceError, ValidationError
from mastra.http.policy import is_retryable_status
from mastra.llm.base import LanguageModel
from mastra.llm.types import ModelRequest, ModelResponse, StreamEvent
from mastra.telemetry import current_span

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["CircuitBreaker", "FallbackModel", "is_retryable"]

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """Whether another model may succeed where this one failed: an answer of 408, 409, 429
    or 5xx, or no usable answer at all (timeout, refused or broken connection, broken
    stream). Other answers (400, 401/403, 404, 422, a prompt too long) say the request or
    the configuration is wrong; another model would hide that, so they are raised."""
    return isinstance(exc, ServiceError) and (exc.status is None or is_retryable_status(exc.status))


class CircuitBreaker:
    """Per model: after ``failures`` retryable failures in a row the model is skipped
    (open) for ``cooldown`` seconds; then one call is let through (half-open) — a success
    closes the breaker, a failure opens it again. ``clock`` is injectable for tests."""

    def __init__(
        self,
        failures: int = 3,
        cooldown: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
            raise ValidationError(f"failures must be an integer >= 1, got {failures!r}")
        if not cooldown >= 0:
            raise ValidationError(f"cooldown must be >= 0 seconds, got {cooldown!r}")
        self.failures, self.cooldown, self.clock = failures, cooldown, clock
        self._count: dict[int, int] = {}
        self._opened: dict[int, float] = {}

    def reopens_in(self, key: int) -> float:
        """Seconds until model ``key`` may be tried again (0 when it may now)."""
        opened = self._opened.get(key)
        return 0.0 if opened is None else max(0.0, opened + self.cooldown - self.clock())

    def success(self, key: int) -> None:
        self._count.pop(key, None)
        self._opened.pop(key, None)

    def failure(self, key: int) -> None:
        count = self._count[key] = self._count.get(key, 0) + 1
        if count >= self.failures:
            self._opened[key] = self.clock()


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    return f"{type(exc).__name__}" + (f" {status}" if status is not None else "")


class FallbackModel(LanguageModel):
    """``models`` in order of preference: each call goes to the first that is not cooling
    down; on a failure ``fallback_on`` accepts (by default :func:`is_retryable`, after the
    model's own HTTP retries) the next one is tried. Other failures are raised at once. When
    every model is cooling down, the one that recovers first is tried.

    A stream may only move to the next model before its first event: once a model has
    streamed anything, its failure is raised (the caller has already seen its text).

    The switches are recorded on the active span (the agent's ``gen_ai.chat``): an event
    ``mastra.model.fallback`` per failed model (which, the error class and status),
    ``mastra.model.skipped`` per model skipped while cooling down, and the attribute
    ``mastra.model.used``.

    Args:
        models: ``"provider/model"`` strings (made with :func:`get_model` and owned: closed
            by ``aclose()``) or LanguageModels (yours to close).
        fallback_on: which failures move on to the next model.
        breaker: the circuit breaker (default ``CircuitBreaker()``: 3 failures, 30 s);
            None disables it.
    """

    provider = "fallback"

    def __init__(
        self,
        models: Sequence[str | LanguageModel],
        *,
        fallback_on: Callable[[BaseException], bool] = is_retryable,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        from mastra.llm.router import get_model

        if isinstance(models, (str, LanguageModel)) or not models:
            raise ValidationError(
                "FallbackModel needs a non-empty list of models ('provider/model' strings or "
                f"LanguageModels), got {models!r}"
            )
        self.models: list[LanguageModel] = []
        self._owned: list[LanguageModel] = []
        for item in models:
            if isinstance(item, str):
                made = get_model(item)
                self._owned.append(made)
            elif isinstance(item, LanguageModel):
                made = item
            else:
                raise ValidationError(
                    f"FallbackModel takes 'provider/model' strings or LanguageModels, got "
                    f"{type(item).__name__}"
                )
            self.models.append(made)
        self.fallback_on = fallback_on
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self.model = ",".join(m.name for m in self.models)

    def __repr__(self) -> str:
        return f"FallbackModel({[m.name for m in self.models]!r})"

    def _candidates(self) -> list[int]:
        """The models to try, in order: those not cooling down; if all are, the one that
        recovers first."""
        ready = [i for i in range(len(self.models)) if self.breaker.reopens_in(i) == 0.0]
        span = current_span()
        if span is not None:
            for i in range(len(self.models)):
                if i not in ready:
                    span.add_event(
                        "mastra.model.skipped",
                        model=self.models[i].name,
                        reopens_in=round(self.breaker.reopens_in(i), 3),
                    )
        return ready or [min(range(len(self.models)), key=self.breaker.reopens_in)]

    def _failed(self, index: int, exc: BaseException) -> None:
        self.breaker.failure(index)
        span = current_span()
        if span is not None:
            span.add_event(
                "mastra.model.fallback",
                model=self.models[index].name,
                error=type(exc).__name__,
                status=getattr(exc, "status", None) or 0,
            )

    def _used(self, index: int) -> None:
        self.breaker.success(index)
        span = current_span()
        if span is not None:
            span.set_attribute("mastra.model.used", self.models[index].name)

    def _exhausted(self, failures: list[tuple[int, BaseException]]) -> BaseException:
        last = failures[-1][1]
        tried = "; ".join(f"{self.models[i].name}: {_describe(e)}" for i, e in failures)
        last.add_note(f"FallbackModel tried every model it could: {tried}")
        return last

    async def _attempt(self, call: Callable[[LanguageModel], Awaitable[T]]) -> T:
        failures: list[tuple[int, BaseException]] = []
        for index in self._candidates():
            try:
                value = await call(self.models[index])
            except Exception as exc:
                if not self.fallback_on(exc):
                    raise
                self._failed(index, exc)
                failures.append((index, exc))
                continue
            self._used(index)
            return value
        raise self._exhausted(failures)

    async def generate(self, request: ModelRequest) -> ModelResponse:
        return await self._attempt(lambda model: model.generate(request))

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return await self._attempt(lambda model: model.embed(texts))

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        failures: list[tuple[int, BaseException]] = []
        for index in self._candidates():
            started = False
            try:
                async with contextlib.aclosing(self.models[index].stream(request)) as events:
                    async for event in events:
                        started = True
                        yield event
            except Exception as exc:
                if started or not self.fallback_on(exc):
                    raise
                self._failed(index, exc)
                failures.append((index, exc))
                continue
            self._used(index)
            return
        raise self._exhausted(failures)

    async def aclose(self) -> None:
        """Close the models this one made from strings."""
        for model in self._owned:
            await model.aclose()
