"""Moderation with a model as judge: category scores against a threshold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import msgspec

from mastra.errors import ValidationError
from mastra.llm.base import LanguageModel
from mastra.messages import Message
from mastra.processors.base import Processor, ProcessorContext, latest_turn
from mastra.processors.judge import OnError, ask_judge
from mastra.processors.text import user_texts
from mastra.telemetry import get_logger

if TYPE_CHECKING:
    from mastra.agent.results import AgentResult

__all__ = ["DEFAULT_CATEGORIES", "ModerationProcessor", "ModerationVerdict"]

DEFAULT_CATEGORIES = ("hate", "harassment", "violence", "self-harm", "sexual", "illicit")
_log = get_logger("processors")


class ModerationVerdict(msgspec.Struct, frozen=True):
    """What the judge answers: a score from 0 to 1 per category, and why."""

    scores: dict[str, float] = {}
    reason: str = ""


def _instructions(categories: Sequence[str]) -> str:
    return (
        "You are a content moderator. Score the user's text from 0 (absent) to 1 (certain) "
        f"for each category: {', '.join(categories)}. Answer only with JSON: "
        '{"scores": {"<category>": <score>, ...}, "reason": "<one short sentence>"}.'
    )


class ModerationProcessor(Processor):
    """Asks ``model`` to score the new user text (input) and the answer (output) per
    category; any score at or above ``threshold`` is flagged.

    Args:
        model: the judge (a small, fast model is the usual choice).
        categories: what to score (default ``DEFAULT_CATEGORIES``).
        threshold: the score that flags, 0..1.
        strategy: ``"block"`` trips the wire, ``"warn"`` logs the flagged categories.
        apply_to: ``"input"``, ``"output"`` or ``"both"``.
        on_error: when the judge fails, ``"allow"`` (log and let through) or ``"block"``.

    A streamed answer is judged once it is complete (its text has been sent by then; a
    tripwire still keeps it out of memory and marks the result).
    """

    __slots__ = ("apply_to", "categories", "model", "on_error", "strategy", "threshold")

    def __init__(
        self,
        model: LanguageModel,
        *,
        categories: Sequence[str] = DEFAULT_CATEGORIES,
        threshold: float = 0.5,
        strategy: Literal["block", "warn"] = "block",
        apply_to: Literal["input", "output", "both"] = "both",
        on_error: OnError = "allow",
    ) -> None:
        if not isinstance(model, LanguageModel):
            raise ValidationError(
                f"ModerationProcessor needs a LanguageModel as judge, got {type(model).__name__}"
            )
        if not 0.0 <= threshold <= 1.0:
            raise ValidationError(f"threshold must be between 0 and 1, got {threshold!r}")
        if strategy not in ("block", "warn"):
            raise ValidationError(f"strategy must be 'block' or 'warn', got {strategy!r}")
        self.model, self.categories = model, tuple(categories)
        self.threshold, self.strategy = threshold, strategy
        self.apply_to, self.on_error = apply_to, on_error

    async def _check(self, text: str, where: str, ctx: ProcessorContext) -> None:
        if not text.strip():
            return
        verdict = await ask_judge(
            self.model,
            _instructions(self.categories),
            text,
            {
                "type": "object",
                "properties": {
                    "scores": {"type": "object", "additionalProperties": {"type": "number"}},
                    "reason": {"type": "string"},
                },
                "required": ["scores", "reason"],
            },
            ModerationVerdict,
            ctx=ctx,
            on_error=self.on_error,
        )
        if verdict is None:
            return
        flagged = sorted(c for c in self.categories if verdict.scores.get(c, 0.0) >= self.threshold)
        if not flagged:
            return
        if self.strategy == "block":
            ctx.abort(f"moderation flagged the {where}: {', '.join(flagged)}")
        _log.warning("moderation flagged the %s of run %s: %s", where, ctx.run_id, flagged)

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        if self.apply_to != "output":
            await self._check(user_texts(messages, latest_turn(messages)), "input", ctx)
        return messages

    async def process_output(self, result: AgentResult, ctx: ProcessorContext) -> AgentResult:
        if self.apply_to != "input":
            await self._check(result.text, "output", ctx)
        return result
