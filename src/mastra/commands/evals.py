"""``mastra eval DATA --app MODULE:ATTR --agent NAME --scorer ID ...``: run an eval from the
command line, with a progress bar and a summary table; optionally save the report and
compare it with an earlier one (exit status 1 on regressions).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mastra.commands import load_object
from mastra.errors import ValidationError

if TYPE_CHECKING:
    from mastra.evals.scorer import Scorer

# The evals package is imported when an eval runs or its help is printed, not by every
# `mastra` command.
__all__ = ["add_commands", "code_scorers", "resolve_scorer"]


def code_scorers() -> dict[str, Callable[[], Scorer]]:
    """The code scorers that need no argument, by id."""
    from mastra.evals import code

    return {
        "exact-match": code.exact_match,
        "contains": code.contains,
        "json-schema": code.json_schema,
        "tool-call-accuracy": code.tool_call_accuracy,
        "content-similarity": code.content_similarity,
        "completeness": code.completeness,
        "textual-difference": code.textual_difference,
    }


def _builtin_ids() -> list[str]:
    from mastra.evals.judges import JUDGES

    return [*code_scorers(), *JUDGES]


def resolve_scorer(spec: str, judge_model: str | None) -> Scorer:
    """A scorer by id (a code scorer, or a judge with ``--judge-model``) or ``MODULE:ATTR``."""
    from mastra.evals.judges import JUDGES
    from mastra.evals.scorer import Scorer

    coded = code_scorers()
    if spec in coded:
        return coded[spec]()
    if spec in JUDGES:
        if judge_model is None:
            raise ValidationError(f"scorer {spec!r} is judged by a model; pass --judge-model")
        return JUDGES[spec](judge_model)
    if ":" in spec:
        made = load_object(spec)
        scorer = made() if callable(made) and not isinstance(made, Scorer) else made
        if not isinstance(scorer, Scorer):
            raise ValidationError(f"{spec!r} is not a Scorer (nor a function returning one)")
        return scorer
    known = ", ".join(_builtin_ids())
    raise ValidationError(f"unknown scorer {spec!r}; built-in scorers: {known}; or MODULE:ATTR")


def _target(args: argparse.Namespace) -> Any:
    app = load_object(args.app)
    if args.agent is not None:
        return app.get_agent(args.agent)
    return app.get_workflow(args.workflow)


def _eval(args: argparse.Namespace) -> int:
    from mastra.evals.report import EvalReport
    from mastra.evals.runner import run_evals

    target = _target(args)
    scorers = [resolve_scorer(spec, args.judge_model) for spec in args.scorer]
    report = asyncio.run(
        run_evals(
            args.data,
            target,
            scorers,
            concurrency=args.concurrency,
            progress=not args.no_progress,
        )
    )
    print(report.summary())
    if args.json:
        report.to_json(args.json)
    if args.csv:
        report.to_csv(args.csv)
    if args.baseline:
        comparison = report.compare(EvalReport.from_json(args.baseline), tolerance=args.tolerance)
        print(comparison.render())
        return 1 if comparison.regressions else 0
    return 0


class _ScorerHelp(argparse.HelpFormatter):
    """Fills ``%(builtin)s`` in a help text with the built-in scorer ids, when help is
    printed."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        if text is None or "%(builtin)s" not in text:
            return text
        return text.replace("%(builtin)s", ", ".join(_builtin_ids()))


def add_commands(subparsers: Any) -> None:
    """Add ``mastra eval`` to the ``mastra`` command's subparsers."""
    parser = subparsers.add_parser(
        "eval",
        formatter_class=_ScorerHelp,
        help="score an agent or a workflow on a data set",
        description="Run an agent (or a workflow) of a Mastra app on each item of DATA "
        "(.jsonl, .csv or .json with input / expected / context / id), score every output, "
        "and print a summary. Exit status 1 when --baseline shows regressions.",
    )
    parser.add_argument("data", metavar="DATA", help="the eval items (.jsonl, .csv, .json)")
    parser.add_argument("--app", required=True, metavar="MODULE:ATTR", help="the Mastra app")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--agent", metavar="NAME", help="the agent to evaluate")
    which.add_argument("--workflow", metavar="ID", help="the workflow to evaluate")
    parser.add_argument(
        "--scorer",
        action="append",
        required=True,
        metavar="ID",
        help="a scorer id (%(builtin)s) or MODULE:ATTR; repeat",
    )
    parser.add_argument("--judge-model", metavar="PROVIDER/MODEL", help="for judged scorers")
    parser.add_argument("--concurrency", type=int, default=8, help="items at once (8)")
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON")
    parser.add_argument("--csv", metavar="PATH", help="write one row per item as CSV")
    parser.add_argument("--baseline", metavar="REPORT.json", help="compare with this report")
    parser.add_argument(
        "--tolerance", type=float, default=0.0, help="score drop ignored by --baseline (0)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=_eval)
