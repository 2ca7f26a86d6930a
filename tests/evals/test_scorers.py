"""Code scorers on hand-made cases with known answers, and the Scorer pipeline itself."""

import asyncio
import functools

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mastra.errors import ValidationError
from mastra.evals import (
    Scorer,
    completeness,
    contains,
    content_similarity,
    edit_similarity,
    exact_match,
    json_schema,
    output_text,
    regex,
    textual_difference,
    token_f1,
    tool_call_accuracy,
)
from mastra.messages import ToolCall


def score(scorer, output, expected=None, input="q", context=None):
    return asyncio.run(scorer.run(input, output, expected, context))


async def test_steps_run_in_order_sync_or_async_and_are_reported():
    seen = []

    async def preprocess(run):
        seen.append(("pre", run.output))
        return run.output.split()

    def analyze(run):
        seen.append(("analyze", run.preprocessed))
        return len(run.preprocessed)

    async def reason(run):
        return f"{run.analysis} words, score {run.score}"

    scorer = Scorer("words", lambda run: run.analysis / 10, preprocess, analyze, reason)
    result = await scorer.run("in", "a b c", "exp")
    assert (result.scorer, result.score, result.reason) == ("words", 0.3, "3 words, score 0.3")
    assert result.steps == {"preprocess": ["a", "b", "c"], "analyze": 3}
    assert result.error is None and result.passed is None
    assert seen == [("pre", "a b c"), ("analyze", ["a", "b", "c"])]


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        ({"score": lambda run: 1 / 0}, "score step failed: ZeroDivisionError"),
        ({"score": lambda run: "high"}, "score step failed: ValidationError: score returned"),
        ({"score": lambda run: float("nan")}, "expected a finite number"),
        ({"score": lambda run: 1, "analyze": lambda run: {}["x"]}, "analyze step failed: KeyError"),
        ({"score": lambda run: 1, "reason": lambda run: 5}, "reason step failed"),
    ],
)
async def test_a_failing_step_is_a_result_naming_the_step(steps, error):
    result = await Scorer("s", **steps).run("in", "out")
    assert result.score is None and error in result.error and result.passed is False


async def test_threshold_marks_passes():
    scorer = Scorer("half", lambda run: 0.5, threshold=0.6)
    assert (await scorer.run("i", "o")).passed is False
    scorer.threshold = 0.5
    assert (await scorer.run("i", "o")).passed is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "bad id", "score": len}, "a scorer id is letters"),
        ({"id": "", "score": len}, "a scorer id is letters"),
        ({"id": "s", "score": 3}, "score must be a function"),
        ({"id": "s", "score": len, "threshold": "high"}, "threshold must be a number"),
    ],
)
def test_bad_scorer_definitions_are_refused(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        Scorer(**kwargs)


def test_exact_match():
    assert score(exact_match(), " Paris ", "Paris").score == 1.0
    assert score(exact_match(), "paris", "Paris").score == 0.0
    assert score(exact_match(ignore_case=True), "paris", "Paris").score == 1.0
    assert score(exact_match(strip=False), "Paris ", "Paris").score == 0.0
    missing = score(exact_match(), "Paris", None)
    assert missing.score is None and "needs the item's expected value" in missing.error


def test_contains_and_regex():
    result = score(contains(), "The capital is Paris.", ["Paris", "France"])
    assert result.score == 0.5 and result.reason == "missing: 'France'"
    assert score(contains("paris", ignore_case=True), "PARIS").score == 1.0
    assert score(contains(), "abc", "abc").reason == "contains everything"
    found = score(regex(r"\d{4}-\d{2}"), "due 2026-01 then")
    assert (found.score, found.steps["analyze"]) == (1.0, "2026-01")
    assert score(regex(r"^\d+$"), "12a").score == 0.0
    with pytest.raises(ValidationError, match="does not compile"):
        regex("(")


class Answer(msgspec.Struct):
    city: str
    population: int


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
    "required": ["city", "population"],
}


@pytest.mark.parametrize("schema", [SCHEMA, Answer])
def test_json_schema_with_a_dict_or_a_type(schema):
    scorer = json_schema(schema)
    assert score(scorer, '{"city": "Paris", "population": 2100000}').score == 1.0
    assert score(scorer, '```json\n{"city": "Paris", "population": 1}\n```').score == 1.0
    assert score(scorer, {"city": "Oslo", "population": 7}).score == 1.0
    bad = score(scorer, '{"city": "Paris", "population": "many"}')
    assert bad.score == 0.0 and "population" in bad.reason
    assert score(scorer, "Paris!").reason.startswith("not JSON")


def test_json_schema_without_schema_checks_json_only():
    assert score(json_schema(), "[1, 2]").score == 1.0
    assert score(json_schema(), "[1, 2").score == 0.0


def test_tool_call_accuracy():
    calls = [
        ToolCall("1", "search", {"q": "paris", "limit": 3}),
        ToolCall("2", "weather", {"city": "Paris"}),
    ]
    expected = [{"name": "weather", "arguments": {"city": "Paris"}}, {"name": "search"}]
    result = score(tool_call_accuracy(), calls, expected)
    assert result.score == 1.0 and result.steps["analyze"]["matched"] == ["weather", "search"]
    assert score(tool_call_accuracy(ordered=True), calls, expected).score == 0.5
    wrong_args = [{"name": "weather", "arguments": {"city": "Oslo"}}, "book"]
    missed = score(tool_call_accuracy(), calls, wrong_args)
    assert missed.score == 0.0 and missed.reason.startswith("missing: weather, book")
    assert score(tool_call_accuracy(["search"], allow_extra=False), calls).score == 0.5
    partial = [{"name": "search", "arguments": {"q": "paris"}}]
    assert score(tool_call_accuracy(partial), calls).score == 1.0
    assert score(tool_call_accuracy(partial, exact_arguments=True), calls).score == 0.0
    assert score(tool_call_accuracy([]), []).score == 1.0
    assert "agent result or a list" in score(tool_call_accuracy(["x"]), "text").error


def test_content_similarity_and_its_parts():
    result = score(content_similarity(), "kitten", "sitting")
    assert result.steps["analyze"]["edit"] == pytest.approx(1 - 3 / 7)
    assert result.score == pytest.approx(1 - 3 / 7)
    f1 = score(content_similarity(metric="token_f1"), "the cat sat", "the cat ran away")
    assert f1.score == pytest.approx(2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))
    assert score(content_similarity(), "Same", "same").score == 1.0
    with pytest.raises(ValidationError, match="metric must be"):
        content_similarity(metric="cosine")


@functools.cache
def reference_distance(a, b):
    if not a or not b:
        return len(a) + len(b)
    return min(
        reference_distance(a[1:], b) + 1,
        reference_distance(a, b[1:]) + 1,
        reference_distance(a[1:], b[1:]) + (a[0] != b[0]),
    )


@given(st.text("abc", max_size=8), st.text("abc", max_size=8))
def test_edit_similarity_matches_the_recursive_definition(a, b):
    longest = max(len(a), len(b))
    expected = 1.0 if longest == 0 else 1 - reference_distance(a, b) / longest
    assert edit_similarity(a, b) == pytest.approx(expected)


def test_token_f1_edges():
    assert token_f1("", "") == 1.0
    assert token_f1("a b", "c d") == 0.0
    assert token_f1("A a b", "a b b") == pytest.approx(2 / 3)


def test_completeness():
    result = score(completeness(["Paris", "Seine", "Louvre"]), "Paris has the Louvre.")
    assert result.score == pytest.approx(2 / 3) and result.reason == "missing: seine"
    from_input = score(
        completeness(), "Paris is the capital", input="What is the capital of France?"
    )
    assert from_input.steps["preprocess"] == ["capital", "france"]
    assert from_input.score == 0.5
    phrase = score(completeness(["new york"]), "I love New York!")
    assert phrase.score == 1.0


def test_textual_difference():
    same = score(textual_difference(), "hello world", "hello world")
    assert same.score == 1.0 and same.reason == "0 inserted, 0 deleted, 0 replaced characters"
    changed = score(textual_difference(), "hello brave world", "hello world")
    assert changed.steps["analyze"]["insert"] == 6 and changed.score < 1.0


def test_output_text_of_each_kind():
    class Result:
        text = "agent answer"

    assert output_text(Result()) == "agent answer"
    assert output_text({"a": 1}) == '{"a":1}'
    assert output_text(None) == "" and output_text(b"x") == "x"
