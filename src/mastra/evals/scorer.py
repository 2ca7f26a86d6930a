"""``Scorer``: a pipeline of (sync or async) steps that scores one run.

``preprocess`` and ``analyze`` prepare what ``score`` turns into a number and ``reason``
explains; each step sees the :class:`ScoreRun` (input, output, expected, context and what
earlier steps produced). A failing step is a failed result naming the step, never an
exception for the caller.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import msgspec
import orjson

from mastra.errors import ValidationError

__all__ = ["ScoreResult", "ScoreRun", "Scorer", "output_text"]

Step = Callable[["ScoreRun"], Any]
_PLAIN = frozenset({float, int, str, bool, type(None), dict, list, tuple})


class ScoreRun(msgspec.Struct, kw_only=True):
    """What a scorer's steps see: the run being scored, then each earlier step's output."""

    input: Any
    output: Any
    expected: Any = None
    context: Any = None
    preprocessed: Any = None
    analysis: Any = None
    score: float | None = None

    @property
    def text(self) -> str:
        """The output as text (see :func:`output_text`)."""
        return output_text(self.output)


class ScoreResult(msgspec.Struct, frozen=True, kw_only=True):
    """One scorer's verdict on one run: ``score`` (None when a step failed, with ``error``
    saying which and why), ``reason``, and each step's output in ``steps``."""

    scorer: str
    score: float | None
    reason: str | None = None
    steps: dict[str, Any] = {}
    error: str | None = None
    passed: bool | None = None


def output_text(output: Any) -> str:
    """A run's output as text: a string as is, an agent result's ``text``, a workflow
    result's ``result`` (as text), anything else as JSON."""
    if isinstance(output, str):
        return output
    if output is None:
        return ""
    text = getattr(output, "text", None)
    if isinstance(text, str):
        return text
    if hasattr(output, "status") and hasattr(output, "result"):
        return output_text(output.result)
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return orjson.dumps(output, default=_builtins).decode()


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value, enc_hook=repr)


def is_pending(value: Any) -> bool:
    """Whether a step's value must be awaited (plain values skip the slower check)."""
    return type(value) not in _PLAIN and inspect.isawaitable(value)


class Scorer:
    """Scores a run with up to four steps (each a sync or async function of
    :class:`ScoreRun`): ``preprocess`` → ``run.preprocessed``, ``analyze`` →
    ``run.analysis``, ``score`` → a number in ``run.score``, ``reason`` → text.

    Args:
        id: names the scorer in reports and storage (letters, digits, ``_.:-``).
        threshold: when set, a score below it counts as a failure in eval reports.
        description: what the scorer measures.
    """

    def __init__(
        self,
        id: str,
        score: Step,
        preprocess: Step | None = None,
        analyze: Step | None = None,
        reason: Step | None = None,
        *,
        threshold: float | None = None,
        description: str = "",
    ) -> None:
        if not isinstance(id, str) or not id or not all(c.isalnum() or c in "_.:-" for c in id):
            raise ValidationError(f"a scorer id is letters, digits or _.:- ; got {id!r}")
        for name, step in (("score", score), ("preprocess", preprocess), ("analyze", analyze)):
            if step is not None and not callable(step):
                raise ValidationError(f"scorer {id!r}: {name} must be a function, got {step!r}")
        if reason is not None and not callable(reason):
            raise ValidationError(f"scorer {id!r}: reason must be a function, got {reason!r}")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, (int, float))
        ):
            raise ValidationError(f"scorer {id!r}: threshold must be a number, got {threshold!r}")
        self.id = id
        self.score = score
        self.preprocess = preprocess
        self.analyze = analyze
        self.reason = reason
        self.threshold = threshold
        self.description = description

    def __repr__(self) -> str:
        return f"Scorer({self.id!r})"

    async def run(
        self, input: Any, output: Any, expected: Any = None, context: Any = None
    ) -> ScoreResult:
        """Score one run; a step that raises (or a score that is not a finite number) gives
        a result with ``error`` set instead of raising."""
        run = ScoreRun(input=input, output=output, expected=expected, context=context)
        steps: dict[str, Any] = {}
        stage = "preprocess"
        try:  # steps are called inline: most are sync, and a coroutine per step costs
            if self.preprocess is not None:
                value = self.preprocess(run)
                run.preprocessed = steps["preprocess"] = await value if is_pending(value) else value
            stage = "analyze"
            if self.analyze is not None:
                value = self.analyze(run)
                run.analysis = steps["analyze"] = await value if is_pending(value) else value
            stage = "score"
            value = self.score(run)
            run.score = _number(await value if is_pending(value) else value)
            stage = "reason"
            reason = None
            if self.reason is not None:
                value = self.reason(run)
                reason = await value if is_pending(value) else value
            if reason is not None and not isinstance(reason, str):
                raise ValidationError(f"reason returned {type(reason).__name__}; expected text")
        except Exception as exc:
            return ScoreResult(
                scorer=self.id,
                score=None,
                steps=steps,
                error=f"{stage} step failed: {type(exc).__name__}: {exc}",
                passed=False,
            )
        passed = None if self.threshold is None else run.score >= self.threshold
        return ScoreResult(
            scorer=self.id, score=run.score, reason=reason, steps=steps, passed=passed
        )


def _number(value: Any) -> float:
    if type(value) is float and value - value == 0.0:  # finite (inf - inf and nan are nan)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"score returned {value!r}; expected a finite number")
    return float(value)
