"""Model-judged scorers with FunctionModel judges: known verdicts give known scores, the
judge sees the run, and a malformed judge answer is a clear failure, not a crash."""

import orjson
import pytest

from mastra.evals import (
    JUDGES,
    answer_relevancy,
    bias,
    context_precision,
    context_relevance,
    faithfulness,
    hallucination,
    prompt_alignment,
    run_evals,
    toxicity,
)
from mastra.llm.testing import FunctionModel

CONTEXT = ["Paris is the capital of France.", "The Seine flows through Paris.", "Cats purr."]


def judge(*verdicts, seen=None):
    """A judge answering with these verdicts (statement i is 's{i}')."""

    def answer(request):
        if seen is not None:
            seen.append(request)
        items = [
            {"statement": f"s{i}", "verdict": v, "reason": "r"} for i, v in enumerate(verdicts)
        ]
        return orjson.dumps({"judgements": items}).decode()

    return FunctionModel(answer, model="judge")


@pytest.mark.parametrize(
    ("make", "verdicts", "expected"),
    [
        (answer_relevancy, ("yes", "yes", "idk", "no"), 2.5 / 4),
        (faithfulness, ("yes", "no", "idk", "yes"), 0.5),
        (faithfulness, (), 1.0),  # no claims: nothing unfaithful
        (hallucination, ("no", "yes", "no"), 1 / 3),
        (toxicity, ("no", "no", "no", "yes"), 0.25),
        (bias, ("no",), 0.0),
        (context_precision, ("yes", "no", "yes"), (1 / 1 + 2 / 3) / 2),
        (context_precision, ("no", "no", "no"), 0.0),
        (context_relevance, ("yes", "idk", "no"), 0.5),
        (prompt_alignment, ("yes", "no"), 0.5),
    ],
)
async def test_known_verdicts_give_known_scores(make, verdicts, expected):
    result = await make(judge(*verdicts)).run("Where is Paris?", "In France.", None, CONTEXT)
    assert result.error is None, result.error
    assert result.score == pytest.approx(expected)
    assert [j.verdict for j in result.steps["analyze"]] == list(verdicts)


async def test_the_judge_sees_the_run_and_is_asked_for_the_schema():
    seen = []
    scorer = faithfulness(judge("yes", seen=seen))
    result = await scorer.run("Where is Paris?", "Paris is in France.", "France", CONTEXT)
    [request] = seen
    prompt = request.messages[-1].text
    assert "INPUT:\nWhere is Paris?" in prompt and "OUTPUT:\nParis is in France." in prompt
    assert "EXPECTED:\nFrance" in prompt and "[2] The Seine flows through Paris." in prompt
    assert "CONTEXT supports it" in request.messages[0].text
    assert request.response_format.name == "Judgements"
    assert result.reason.startswith("1 yes")


async def test_a_malformed_judge_answer_is_a_clear_failure():
    calls = []

    def rambling(request):
        calls.append(request)
        return "I think it is mostly faithful."

    result = await faithfulness(FunctionModel(rambling)).run("q", "a", None, CONTEXT)
    assert result.score is None
    assert result.error.startswith("analyze step failed: ValidationError")
    assert "could not produce a valid Judgements after one repair" in result.error
    assert len(calls) == 2  # the answer, then one repair attempt


async def test_a_verdict_outside_the_schema_is_refused():
    result = await toxicity(judge("maybe")).run("q", "a")
    assert result.score is None and "Judgements" in result.error


async def test_context_judges_need_the_context_and_one_verdict_per_piece():
    missing = await hallucination(judge("no")).run("q", "a")
    assert "hallucination needs the item's context" in missing.error
    short = await context_relevance(judge("yes")).run("q", "a", None, CONTEXT)
    assert "1 judgements for 3 context pieces" in short.error


async def test_judge_failures_show_up_in_an_eval_report():
    report = await run_evals(
        [{"input": "q1", "context": CONTEXT}, {"input": "q2"}],
        lambda question: "an answer",
        [hallucination(judge("no", "no", "yes"))],
        progress=False,
    )
    assert report.summaries["hallucination"].count == 1
    assert report.summaries["hallucination"].mean == pytest.approx(1 / 3)
    [failure] = report.failures
    assert failure.index == 1 and "needs the item's context" in failure.reason


def test_every_judge_is_registered_by_its_id():
    for id, make in JUDGES.items():
        assert make(judge()).id == id
