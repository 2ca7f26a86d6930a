"""run_evals beside pydantic-evals on the same 10k items: an instant target (identity) and
three code scorers on each side (exact match, contains, a regex), concurrency 8, no
progress bar. Items/s = 10,000 / median."""

import asyncio
import re
from dataclasses import dataclass

import pytest
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import Contains, EqualsExpected, Evaluator, EvaluatorContext

from mastra.evals import EvalItem, contains, exact_match, regex, run_evals

ITEMS = 10_000
PATTERN = re.compile(r"\d+$")
ROWS = [(str(i), f"answer {i}", f"answer {i}" if i % 3 else "other") for i in range(ITEMS)]


def identity(value):
    return value


@dataclass
class Matches(Evaluator):
    """The regex check, as a pydantic-evals evaluator."""

    def evaluate(self, ctx: EvaluatorContext) -> bool:
        return PATTERN.search(ctx.output) is not None


def run_mastra():
    items = [EvalItem(input=i, expected=e, id=n) for n, i, e in ROWS]
    scorers = [exact_match(), contains("answer"), regex(PATTERN)]

    def run():
        report = asyncio.run(run_evals(items, identity, scorers, concurrency=8, progress=False))
        assert report.summaries["exact-match"].count == ITEMS

    return run


def run_pydantic_evals():
    dataset = Dataset(
        name="bench",
        cases=[Case(name=n, inputs=i, expected_output=e) for n, i, e in ROWS],
        evaluators=[EqualsExpected(), Contains(value="answer"), Matches()],
    )

    def run():
        report = dataset.evaluate_sync(identity, max_concurrency=8, progress=False)
        assert len(report.cases) == ITEMS

    return run


CASES = {"mastra": run_mastra, "pydantic-evals": run_pydantic_evals}


@pytest.mark.parametrize("engine", list(CASES))
def test_run_evals_10k_items(benchmark, engine):
    run = CASES[engine]()
    benchmark.group = "run_evals, 10k items, instant target, 3 code scorers"
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
