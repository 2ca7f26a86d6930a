"""run_evals over each kind of target and data source; the report's aggregates, failures,
exports and comparisons; the ``mastra eval`` command."""

import argparse
import asyncio
import csv
import io
import json
import subprocess
import sys

import pytest

from mastra import Agent, Workflow, step
from mastra.commands.evals import add_commands
from mastra.errors import MastraError, ValidationError
from mastra.evals import (
    EvalItem,
    EvalReport,
    Scorer,
    contains,
    exact_match,
    load_dataset,
    run_evals,
    tool_call_accuracy,
)
from mastra.llm.testing import TestModel

ITEMS = [
    {"id": "a", "input": "paris", "expected": "PARIS"},
    {"id": "b", "input": "oslo", "expected": "OSLO"},
    {"id": "c", "input": "rome", "expected": "ROMA"},
]


async def test_a_function_target_is_scored_and_aggregated():
    report = await run_evals(ITEMS, str.upper, [exact_match(), contains("O")], progress=False)
    assert [item.output for item in report.items] == ["PARIS", "OSLO", "ROME"]
    assert [item.scores["exact-match"].score for item in report.items] == [1.0, 1.0, 0.0]
    summary = report.summaries["exact-match"]
    assert (summary.mean, summary.min, summary.max, summary.count, summary.errors) == (
        pytest.approx(2 / 3),
        0.0,
        1.0,
        3,
        0,
    )
    assert report.summaries["contains"].mean == pytest.approx(2 / 3)
    assert report.failures == [] and report.target == "str.upper"


async def test_target_errors_and_thresholds_are_failures_with_reasons():
    async def flaky(text):
        if text == "oslo":
            raise RuntimeError("model unavailable")
        return text.upper()

    strict = Scorer("exact", lambda run: float(run.output == run.expected), threshold=1.0)
    report = await run_evals(ITEMS, flaky, [strict], progress=False)
    by_index = {f.index: f for f in report.failures}
    assert by_index[1].scorer is None and by_index[1].reason == "RuntimeError: model unavailable"
    assert by_index[2].scorer == "exact" and "below the threshold" in by_index[2].reason
    assert report.summaries["exact"].passed == 1
    assert report.items[1].scores == {} and report.items[1].error is not None


async def test_concurrency_bounds_items_in_flight_and_keeps_order():
    running = peak = 0

    async def slow(x):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (x % 3))
        running -= 1
        return x

    always = Scorer("one", lambda run: 1)
    report = await run_evals(list(range(50)), slow, [always], concurrency=4, progress=False)
    assert peak == 4
    assert [item.output for item in report.items] == list(range(50))


async def test_an_agent_target_keeps_the_text_and_scores_the_whole_result():
    agent = Agent("helper", "", TestModel(text="done"), tools=[_lookup])
    report = await run_evals(
        [{"input": "go", "expected": ["_lookup"]}, {"input": "again", "expected": ["other"]}],
        agent,
        [tool_call_accuracy(), contains("done")],
        progress=False,
    )
    first, second = report.items
    assert first.output == "done" and report.target == "agent helper"
    assert first.scores["tool-call-accuracy"].score == 1.0  # TestModel called the tool
    assert second.scores["tool-call-accuracy"].reason == "missing: other; unexpected: _lookup"
    assert report.summaries["contains"].mean == 1.0


def _lookup(key: str) -> str:
    """Look a key up."""
    return key


@step
def double(ctx, n: int) -> int:
    return n * 2


async def test_a_workflow_target_is_scored_on_its_result():
    workflow = Workflow("doubler").then(double)
    equal = Scorer("equal", lambda run: float(run.output == run.expected))
    report = await run_evals(
        [EvalItem(input=2, expected=4), EvalItem(input=5, expected=11)],
        workflow,
        [equal],
        progress=False,
    )
    assert [i.scores["equal"].score for i in report.items] == [1.0, 0.0]
    assert report.target == "workflow doubler"


def test_data_from_jsonl_csv_and_json(tmp_path):
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text(
        '{"input": "q1", "expected": "a1", "context": ["c1", "c2"], "id": 7, "tag": "x"}\n\n'
        '{"input": {"nested": true}}\n'
    )
    first, second = load_dataset(jsonl)
    assert first == EvalItem(
        input="q1", expected="a1", context=["c1", "c2"], id="7", metadata={"tag": "x"}
    )
    assert second.input == {"nested": True}
    table = tmp_path / "d.csv"
    table.write_text('id,input,expected,context,topic\n1,q1,a1,"[""c1""]",geo\n2,q2,,plain,\n')
    rows = load_dataset(table)
    assert rows[0] == EvalItem(
        input="q1", expected="a1", context=["c1"], id="1", metadata={"topic": "geo"}
    )
    assert rows[1].context == ["plain"] and rows[1].expected == ""
    array = tmp_path / "d.json"
    array.write_text('[{"input": 1}, {"input": 2, "expected": 3}]')
    assert [i.expected for i in load_dataset(array)] == [None, 3]
    assert load_dataset(["plain", {"input": "x"}])[0] == EvalItem(input="plain")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ('{"input": 1}\n{oops\n', "bad.jsonl", "bad.jsonl:2 is not JSON"),
        ('{"expected": 1}\n', "noinput.jsonl", "has no 'input'"),
        ("", "empty.jsonl", "no eval items"),
        ("input\n", "d.txt", "must be .jsonl, .csv or .json"),
        ('{"input": 1}', "obj.json", "must hold a JSON array"),
    ],
)
def test_bad_data_is_a_clear_error(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValidationError, match=message):
        load_dataset(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scorers": []}, "non-empty list"),
        ({"scorers": [exact_match(), exact_match()]}, "share an id"),
        ({"concurrency": 0}, "concurrency must be an integer >= 1"),
        ({"target": 42}, "an eval target is an Agent, a Workflow or a function"),
    ],
)
async def test_bad_arguments_are_refused(kwargs, message):
    arguments = {"data": ITEMS, "target": str.upper, "scorers": [exact_match()], **kwargs}
    with pytest.raises(ValidationError, match=message):
        await run_evals(progress=False, **arguments)


async def test_reports_export_to_json_and_csv_and_load_back(tmp_path):
    report = await run_evals(ITEMS, str.upper, [exact_match()], progress=False, name="caps")
    path = tmp_path / "report.json"
    report.to_json(path)
    again = EvalReport.from_json(path)
    assert again == report and EvalReport.from_json(path.read_bytes()) == report
    rows = list(csv.DictReader(io.StringIO(report.to_csv(tmp_path / "r.csv"))))
    assert [r["exact-match"] for r in rows] == ["1.0", "1.0", "0.0"]
    assert rows[2]["exact-match_reason"] == "the output differs from the expected value"
    assert (tmp_path / "r.csv").read_text().startswith("index,id,input")
    with pytest.raises(ValidationError, match="not an eval report"):
        EvalReport.from_json(b'{"name": 1}')


async def test_compare_highlights_regressions():
    before = await run_evals(ITEMS, str.upper, [exact_match()], progress=False)
    after = await run_evals(
        ITEMS, lambda t: "PARIS" if t == "paris" else "ROMA", [exact_match()], progress=False
    )
    comparison = after.compare(before)
    [regression] = comparison.regressions
    assert (regression.key, regression.before, regression.after) == ("b", 1.0, 0.0)
    assert (comparison.improved, comparison.unchanged) == (1, 1)
    text = comparison.render()
    assert "exact-match" in text and "REGRESSED" in text and "REGRESSED b exact-match" in text
    assert after.compare(before, tolerance=1.0).regressions == []


def _app_module(tmp_path, monkeypatch):
    (tmp_path / "evalapp.py").write_text(
        "from mastra import Agent, Mastra\n"
        "from mastra.llm.testing import FunctionModel\n"
        "app = Mastra(agents=[Agent('shout', '', FunctionModel(lambda r: r.messages[-1].text"
        ".upper()))])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("evalapp", None)


def _cli(argv):
    parser = argparse.ArgumentParser(prog="mastra")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_the_cli_imports_the_evals_package_only_for_an_eval_or_its_help():
    """Every `mastra` command builds the whole parser: the eval command's part of it does not
    import the evals package (~15 ms); printing its help lists the built-in scorers."""
    script = (
        "import sys\n"
        "from mastra.cli import build_parser\n"
        "parser = build_parser()\n"
        "print('mastra.evals' in sys.modules)\n"
        "try:\n"
        "    parser.parse_args(['eval', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('mastra.evals' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "False" and lines[-1] == "True"
    help_text = " ".join(" ".join(lines).split())
    assert "a scorer id (exact-match, contains," in help_text
    assert "faithfulness" in help_text and "%(builtin)s" not in help_text


def test_cli_runs_an_eval_prints_a_summary_and_compares(tmp_path, monkeypatch, capsys):
    _app_module(tmp_path, monkeypatch)
    data = tmp_path / "cases.jsonl"
    data.write_text("\n".join(json.dumps(item) for item in ITEMS))
    base = ["eval", str(data), "--app", "evalapp:app", "--agent", "shout", "--no-progress"]
    out = tmp_path / "first.json"
    assert _cli([*base, "--scorer", "exact-match", "--scorer", "contains", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "agent shout: 3 items" in printed and "exact-match" in printed and "0.667" in printed
    assert EvalReport.from_json(out).summaries["contains"].mean == pytest.approx(2 / 3)
    data.write_text(json.dumps({"id": "a", "input": "paris", "expected": "nope"}))
    assert _cli([*base, "--scorer", "exact-match", "--baseline", str(out)]) == 1
    assert "REGRESSED a exact-match" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scorer", "nope"], "unknown scorer 'nope'; built-in scorers: exact-match"),
        (["--scorer", "faithfulness"], "pass --judge-model"),
        (["--scorer", "evalapp:app"], "is not a Scorer"),
    ],
)
def test_cli_errors_are_mastra_errors(tmp_path, monkeypatch, extra, message):
    _app_module(tmp_path, monkeypatch)
    data = tmp_path / "cases.jsonl"
    data.write_text(json.dumps(ITEMS[0]))
    with pytest.raises(MastraError, match=message):
        _cli(["eval", str(data), "--app", "evalapp:app", "--agent", "shout", *extra])


def test_cli_reports_a_bad_app_or_agent(tmp_path, monkeypatch):
    _app_module(tmp_path, monkeypatch)
    with pytest.raises(MastraError, match="cannot import 'nowhere'"):
        _cli(["eval", "x.jsonl", "--app", "nowhere:app", "--agent", "a", "--scorer", "contains"])
    with pytest.raises(MastraError, match="unknown agent 'shot'"):
        _cli(["eval", "x.jsonl", "--app", "evalapp:app", "--agent", "shot", "--scorer", "contains"])
