"""``EvalReport``: per-item results, per-scorer aggregates and the failures with their
reasons; exports to JSON and CSV, loads back, and compares with an earlier report."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import orjson

from mastra.errors import ValidationError
from mastra.evals.scorer import ScoreResult

__all__ = ["Comparison", "EvalReport", "Failure", "ItemResult", "Regression", "ScorerSummary"]


class ItemResult(msgspec.Struct, frozen=True, kw_only=True):
    """One item's run: the output (text for agents), every scorer's result, or the error
    that stopped the target."""

    index: int
    id: str | None
    input: Any
    expected: Any = None
    output: Any = None
    scores: dict[str, ScoreResult] = {}
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def key(self) -> str:
        """What matches this item across reports: its id, else its position."""
        return self.id if self.id is not None else f"#{self.index}"


class ScorerSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One scorer over every item: mean/min/max of the scores it gave, how many it gave,
    how many failed (``errors``) and, with a threshold, how many passed."""

    scorer: str
    mean: float | None
    min: float | None
    max: float | None
    count: int
    errors: int
    passed: int | None = None


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """An item the target failed on (``scorer`` None), a scorer that failed on it, or a
    score below the scorer's threshold — with the reason."""

    index: int
    id: str | None
    scorer: str | None
    reason: str


class Regression(msgspec.Struct, frozen=True, kw_only=True):
    """An item whose score dropped (or that now fails) compared with the baseline."""

    key: str
    scorer: str
    before: float | None
    after: float | None


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """This report against a baseline: mean score changes per scorer and the regressions."""

    means: dict[str, tuple[float | None, float | None]]
    regressions: list[Regression]
    improved: int
    unchanged: int

    def render(self) -> str:
        """A text table; regressed scorers and items are marked ``REGRESSED``."""
        regressed = {r.scorer for r in self.regressions}
        lines = [f"{'scorer':<24} {'baseline':>9} {'now':>9} {'change':>8}"]
        for scorer, (before, after) in sorted(self.means.items()):
            change = "" if before is None or after is None else f"{after - before:+.3f}"
            mark = "  REGRESSED" if scorer in regressed else ""
            lines.append(f"{scorer:<24} {_fmt(before):>9} {_fmt(after):>9} {change:>8}{mark}")
        lines.append(
            f"{len(self.regressions)} regressions, {self.improved} improved, "
            f"{self.unchanged} unchanged"
        )
        lines += [
            f"  REGRESSED {r.key} {r.scorer}: {_fmt(r.before)} -> {_fmt(r.after)}"
            for r in self.regressions
        ]
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def summarize(scorer: str, results: list[ScoreResult], threshold: bool) -> ScorerSummary:
    scores = [r.score for r in results if r.score is not None]
    return ScorerSummary(
        scorer=scorer,
        mean=sum(scores) / len(scores) if scores else None,
        min=min(scores) if scores else None,
        max=max(scores) if scores else None,
        count=len(scores),
        errors=sum(r.error is not None for r in results),
        passed=sum(r.passed is True for r in results) if threshold else None,
    )


def failures_of(item: ItemResult) -> list[Failure]:
    if item.error is not None:
        return [Failure(index=item.index, id=item.id, scorer=None, reason=item.error)]
    found = []
    for result in item.scores.values():
        if result.error is not None:
            reason = result.error
        elif result.passed is False:
            reason = f"score {result.score:.3f} below the threshold: {result.reason or ''}"
        else:
            continue
        found.append(Failure(index=item.index, id=item.id, scorer=result.scorer, reason=reason))
    return found


_ENCODER = msgspec.json.Encoder(enc_hook=repr)


class EvalReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`~mastra.evals.run_evals` returns."""

    name: str
    target: str
    started_at: datetime
    duration_s: float
    items: list[ItemResult]
    summaries: dict[str, ScorerSummary]
    failures: list[Failure]

    def __repr__(self) -> str:  # short: a report may hold many thousand items
        return (
            f"EvalReport({self.name!r}, items={len(self.items)}, "
            f"scorers={list(self.summaries)}, failures={len(self.failures)})"
        )

    @property
    def items_per_second(self) -> float:
        return len(self.items) / self.duration_s if self.duration_s > 0 else float("inf")

    def to_json(self, path: str | os.PathLike[str] | None = None) -> bytes:
        """The whole report as JSON (written to ``path`` too when given)."""
        data = _ENCODER.encode(self)
        if path is not None:
            Path(path).write_bytes(data)
        return data

    @classmethod
    def from_json(cls, data: bytes | str | os.PathLike[str]) -> EvalReport:
        """A report :meth:`to_json` wrote: its bytes or the path of its file."""
        if isinstance(data, bytes):
            raw = data
        elif isinstance(data, str) and data.lstrip().startswith("{"):
            raw = data.encode()
        else:
            try:
                raw = Path(data).read_bytes()
            except OSError as exc:
                raise ValidationError(f"cannot read report {data}: {exc.strerror}") from None
        try:
            return msgspec.json.decode(raw, type=cls)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValidationError(f"not an eval report: {exc}") from None

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """One row per item: id, input, expected, output, error, then each scorer's score,
        reason and error."""
        scorers = list(self.summaries)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["index", "id", "input", "expected", "output", "error", "duration_ms"]
            + [f"{s}{suffix}" for s in scorers for suffix in ("", "_reason", "_error")]
        )
        for item in self.items:
            row: list[Any] = [
                item.index,
                item.id or "",
                _cell(item.input),
                _cell(item.expected),
                _cell(item.output),
                item.error or "",
                f"{item.duration_ms:.3f}",
            ]
            for scorer in scorers:
                result = item.scores.get(scorer)
                row += [
                    "" if result is None or result.score is None else result.score,
                    "" if result is None else result.reason or "",
                    "" if result is None else result.error or "",
                ]
            writer.writerow(row)
        text = out.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8", newline="")
        return text

    def compare(self, baseline: EvalReport, *, tolerance: float = 0.0) -> Comparison:
        """Item by item (matched by id, else position) and scorer by scorer: a score that
        dropped by more than ``tolerance``, or that is now missing (an error), is a
        regression."""
        before = {item.key: item for item in baseline.items}
        regressions, improved, unchanged = [], 0, 0
        for item in self.items:
            old = before.get(item.key)
            if old is None:
                continue
            for scorer, result in item.scores.items():
                previous = old.scores.get(scorer)
                if previous is None or previous.score is None:
                    continue
                now = result.score
                if now is None or now < previous.score - tolerance:
                    regressions.append(
                        Regression(key=item.key, scorer=scorer, before=previous.score, after=now)
                    )
                elif now > previous.score + tolerance:
                    improved += 1
                else:
                    unchanged += 1
        scorers = sorted(set(self.summaries) | set(baseline.summaries))
        means = {
            s: (
                baseline.summaries[s].mean if s in baseline.summaries else None,
                self.summaries[s].mean if s in self.summaries else None,
            )
            for s in scorers
        }
        return Comparison(
            means=means, regressions=regressions, improved=improved, unchanged=unchanged
        )

    def summary(self) -> str:
        """A text table: each scorer's mean, min, max, count, errors (and passes), then the
        failures."""
        lines = [
            f"{self.name}: {len(self.items)} items in {self.duration_s:.2f} s "
            f"({self.items_per_second:.0f}/s), {len(self.failures)} failures",
            f"{'scorer':<24} {'mean':>7} {'min':>7} {'max':>7} {'scored':>7} {'errors':>7}"
            f" {'passed':>7}",
        ]
        for s in self.summaries.values():
            passed = "-" if s.passed is None else str(s.passed)
            lines.append(
                f"{s.scorer:<24} {_fmt(s.mean):>7} {_fmt(s.min):>7} {_fmt(s.max):>7} "
                f"{s.count:>7} {s.errors:>7} {passed:>7}"
            )
        for failure in self.failures[:20]:
            who = failure.scorer or "target"
            lines.append(f"  FAILED #{failure.index} {failure.id or ''} {who}: {failure.reason}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more failures")
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(msgspec.to_builtins(value, enc_hook=repr)).decode()
