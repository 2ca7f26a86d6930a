"""Code scorers: deterministic checks with known answers, no model involved. Each returns a
:class:`~mastra.evals.Scorer`; scores are 0..1, higher is better."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
import orjson

from mastra.errors import ValidationError
from mastra.evals.scorer import Scorer, ScoreRun, output_text

__all__ = [
    "completeness",
    "contains",
    "content_similarity",
    "edit_similarity",
    "exact_match",
    "json_schema",
    "regex",
    "textual_difference",
    "token_f1",
    "tool_call_accuracy",
]

_WORD = re.compile(r"\w+")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
# Words too common to count as a keyword a complete answer must mention.
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "tell",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)


def _expected(run: ScoreRun, scorer: str) -> Any:
    if run.expected is None:
        raise ValidationError(f"{scorer} needs the item's expected value; it has none")
    return run.expected


def _words(text: str, ignore_case: bool = True) -> list[str]:
    return _WORD.findall(text.lower() if ignore_case else text)


def exact_match(*, ignore_case: bool = False, strip: bool = True) -> Scorer:
    """1 when the output text equals the expected text (after ``strip`` and, optionally,
    case folding), else 0."""

    def norm(text: str) -> str:
        text = text.strip() if strip else text
        return text.casefold() if ignore_case else text

    def score(run: ScoreRun) -> float:
        return float(norm(run.text) == norm(output_text(_expected(run, "exact-match"))))

    def reason(run: ScoreRun) -> str:
        return (
            "the output equals the expected value"
            if run.score
            else ("the output differs from the expected value")
        )

    return Scorer("exact-match", score, reason=reason, description=exact_match.__doc__ or "")


def contains(value: str | Iterable[str] | None = None, *, ignore_case: bool = False) -> Scorer:
    """The share of the wanted substrings — ``value``, else the item's expected text (or
    list of texts) — that the output contains."""

    def preprocess(run: ScoreRun) -> list[str]:
        wanted = value if value is not None else _expected(run, "contains")
        return [wanted] if isinstance(wanted, str) else [output_text(w) for w in wanted]

    def analyze(run: ScoreRun) -> dict[str, list[str]]:
        text = run.text.casefold() if ignore_case else run.text
        found: list[str] = []
        missing: list[str] = []
        for wanted in run.preprocessed:
            (found if (wanted.casefold() if ignore_case else wanted) in text else missing).append(
                wanted
            )
        return {"found": found, "missing": missing}

    def score(run: ScoreRun) -> float:
        return len(run.analysis["found"]) / len(run.preprocessed) if run.preprocessed else 1.0

    def reason(run: ScoreRun) -> str:
        missing = run.analysis["missing"]
        return f"missing: {', '.join(map(repr, missing))}" if missing else "contains everything"

    return Scorer("contains", score, preprocess, analyze, reason)


def regex(pattern: str | re.Pattern[str], *, flags: int = 0) -> Scorer:
    """1 when ``pattern`` is found in the output text (``re.search``), else 0."""
    try:
        compiled = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
    except re.error as exc:
        raise ValidationError(f"regex pattern {pattern!r} does not compile: {exc}") from None

    def analyze(run: ScoreRun) -> str | None:
        match = compiled.search(run.text)
        return match.group(0) if match else None

    def score(run: ScoreRun) -> float:
        return float(run.analysis is not None)

    def reason(run: ScoreRun) -> str:
        if run.analysis is None:
            return f"no match for /{compiled.pattern}/"
        return f"matched {run.analysis!r}"

    return Scorer("regex", score, analyze=analyze, reason=reason)


def json_schema(schema: Mapping[str, Any] | type[Any] | None = None) -> Scorer:
    """1 when the output is JSON (a ```json fence is allowed) matching ``schema``: a JSON
    Schema dict (checked with the ``jsonschema`` package, ``pip install 'mastra[evals]'``),
    a type (msgspec Struct, dataclass, TypedDict ..., checked with msgspec), or None (any
    JSON). Structured outputs (not text) are checked as they are."""
    check = _schema_check(schema)

    def analyze(run: ScoreRun) -> str | None:
        output = run.output
        if isinstance(output, str) or getattr(output, "text", None) is not None:
            text = run.text.strip()
            fenced = _FENCE.match(text)
            try:
                output = orjson.loads(fenced.group(1) if fenced else text)
            except orjson.JSONDecodeError as exc:
                return f"not JSON: {exc}"
        return check(msgspec.to_builtins(output, enc_hook=repr))

    def score(run: ScoreRun) -> float:
        return float(run.analysis is None)

    def reason(run: ScoreRun) -> str:
        return run.analysis or "valid JSON matching the schema"

    return Scorer("json-schema", score, analyze=analyze, reason=reason)


def _schema_check(
    schema: Mapping[str, Any] | type[Any] | None,
) -> Callable[[Any], str | None]:
    """A function of a JSON value returning None when it is valid, else the problem."""
    if schema is None:
        return lambda value: None
    if isinstance(schema, Mapping):
        try:
            import jsonschema  # type: ignore[import-untyped]
        except ImportError:
            raise ValidationError(
                "json_schema with a JSON Schema dict needs the jsonschema package: "
                "pip install 'mastra[evals]' (or pass a type instead)"
            ) from None
        validator = jsonschema.Draft202012Validator(dict(schema))

        def check_dict(value: Any) -> str | None:
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
            if error is None:
                return None
            where = "/".join(map(str, error.absolute_path)) or "the root"
            return f"at {where}: {error.message}"

        return check_dict

    def check_type(value: Any) -> str | None:
        try:
            msgspec.convert(value, schema)
        except msgspec.ValidationError as exc:
            return str(exc)
        return None

    return check_type


def _call_of(value: Any) -> tuple[str, dict[str, Any] | None]:
    """(name, arguments or None for 'any') from a name, a dict or a ToolCall."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, Mapping):
        if not isinstance(value.get("name"), str):
            raise ValidationError(f"an expected tool call needs a 'name', got {value!r}")
        return value["name"], value.get("arguments")
    name, arguments = getattr(value, "name", None), getattr(value, "arguments", None)
    if not isinstance(name, str):
        raise ValidationError(f"cannot read a tool call from {value!r}")
    return name, arguments


def _matches(expected: dict[str, Any] | None, actual: dict[str, Any] | None, exact: bool) -> bool:
    if expected is None:
        return True
    actual = actual or {}
    if exact:
        return expected == actual
    return all(k in actual and actual[k] == v for k, v in expected.items())


def tool_call_accuracy(
    expected: Iterable[Any] | None = None,
    *,
    ordered: bool = False,
    exact_arguments: bool = False,
    allow_extra: bool = True,
) -> Scorer:
    """The share of expected tool calls the run made: each expected call (a tool name, a
    ``{"name", "arguments"}`` dict, or a ToolCall; default: the item's expected value)
    matches one actual call with that name and those arguments (a subset of the actual ones
    unless ``exact_arguments``). ``ordered`` requires them in that order; without
    ``allow_extra`` unexpected calls count against the score. The output is an agent
    result (its ``tool_calls``) or a list of calls."""
    wanted = list(expected) if expected is not None else None

    def preprocess(run: ScoreRun) -> dict[str, Any]:
        calls = getattr(run.output, "tool_calls", run.output)
        if not isinstance(calls, (list, tuple)):
            raise ValidationError(
                f"tool-call-accuracy scores an agent result or a list of tool calls, got "
                f"{type(run.output).__name__}"
            )
        items = wanted if wanted is not None else _expected(run, "tool-call-accuracy")
        return {"expected": [_call_of(c) for c in items], "actual": [_call_of(c) for c in calls]}

    def analyze(run: ScoreRun) -> dict[str, Any]:
        want, got = run.preprocessed["expected"], run.preprocessed["actual"]
        used: set[int] = set()
        matched, missing = [], []
        start = 0
        for name, arguments in want:
            candidates = range(start, len(got)) if ordered else range(len(got))
            hit = next(
                (
                    i
                    for i in candidates
                    if i not in used
                    and got[i][0] == name
                    and _matches(arguments, got[i][1], exact_arguments)
                ),
                None,
            )
            if hit is None:
                missing.append(name)
                continue
            used.add(hit)
            matched.append(name)
            start = hit + 1
        extra = [got[i][0] for i in range(len(got)) if i not in used]
        return {"matched": matched, "missing": missing, "unexpected": extra}

    def score(run: ScoreRun) -> float:
        found = len(run.analysis["matched"])
        total = len(run.preprocessed["expected"])
        if not allow_extra:
            total += len(run.analysis["unexpected"])
        return found / total if total else 1.0

    def reason(run: ScoreRun) -> str:
        parts = [f"{k}: {', '.join(v)}" for k, v in run.analysis.items() if v]
        return "; ".join(parts) or "no tool calls expected or made"

    return Scorer("tool-call-accuracy", score, preprocess, analyze, reason)


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / the longer length (1.0 for two empty strings)."""
    if a == b:
        return 1.0
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / len(a)


def token_f1(prediction: str, reference: str, ignore_case: bool = True) -> float:
    """The F1 of the word multisets of two texts (1.0 for two texts without words)."""
    got, want = Counter(_words(prediction, ignore_case)), Counter(_words(reference, ignore_case))
    if not got and not want:
        return 1.0
    common = sum((got & want).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def content_similarity(*, ignore_case: bool = True, metric: str = "edit") -> Scorer:
    """How close the output is to the expected text: ``edit`` similarity (1 - normalised
    Levenshtein distance), ``token_f1`` (word overlap), or their ``mean``; both are in
    the steps."""
    if metric not in ("edit", "token_f1", "mean"):
        raise ValidationError(f"metric must be 'edit', 'token_f1' or 'mean', got {metric!r}")

    def analyze(run: ScoreRun) -> dict[str, float]:
        output, expected = run.text, output_text(_expected(run, "content-similarity"))
        if ignore_case:
            output, expected = output.casefold(), expected.casefold()
        return {
            "edit": edit_similarity(output, expected),
            "token_f1": token_f1(output, expected, ignore_case),
        }

    def score(run: ScoreRun) -> float:
        if metric == "mean":
            return float(run.analysis["edit"] + run.analysis["token_f1"]) / 2
        return float(run.analysis[metric])

    def reason(run: ScoreRun) -> str:
        edit, f1 = run.analysis["edit"], run.analysis["token_f1"]
        return f"edit similarity {edit:.3f}, token F1 {f1:.3f}"

    return Scorer("content-similarity", score, analyze=analyze, reason=reason)


def completeness(keywords: Iterable[str] | None = None, *, ignore_case: bool = True) -> Scorer:
    """The share of keywords the output mentions: ``keywords``, else the item's expected
    value (a list, or the words of a text), else the input's words (common words left out)."""
    given = list(keywords) if keywords is not None else None

    def preprocess(run: ScoreRun) -> list[str]:
        source: Any = given if given is not None else run.expected
        if source is None:
            source = output_text(run.input)
        if isinstance(source, str):
            words = [w for w in _words(source, ignore_case) if w not in _STOPWORDS]
            return list(dict.fromkeys(words))
        return [w.casefold() if ignore_case else w for w in map(output_text, source)]

    def analyze(run: ScoreRun) -> dict[str, list[str]]:
        present = set(_words(run.text, ignore_case))
        text = run.text.casefold() if ignore_case else run.text
        covered = [k for k in run.preprocessed if k in present or (" " in k and k in text)]
        return {"covered": covered, "missing": [k for k in run.preprocessed if k not in covered]}

    def score(run: ScoreRun) -> float:
        return len(run.analysis["covered"]) / len(run.preprocessed) if run.preprocessed else 1.0

    def reason(run: ScoreRun) -> str:
        missing = run.analysis["missing"]
        return f"missing: {', '.join(missing)}" if missing else "mentions every keyword"

    return Scorer("completeness", score, preprocess, analyze, reason)


def textual_difference() -> Scorer:
    """How much text changes between the expected value and the output: the
    ``difflib.SequenceMatcher`` ratio (1 = identical), with the inserted, deleted and
    replaced character counts in the steps."""

    def analyze(run: ScoreRun) -> dict[str, float]:
        expected = output_text(_expected(run, "textual-difference"))
        matcher = difflib.SequenceMatcher(None, expected, run.text, autojunk=False)
        counts = {"insert": 0, "delete": 0, "replace": 0}
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in counts:
                counts[tag] += max(i2 - i1, j2 - j1)
        return {"ratio": matcher.ratio(), **counts}

    def score(run: ScoreRun) -> float:
        return float(run.analysis["ratio"])

    def reason(run: ScoreRun) -> str:
        a = run.analysis
        return f"{a['insert']} inserted, {a['delete']} deleted, {a['replace']} replaced characters"

    return Scorer("textual-difference", score, analyze=analyze, reason=reason)
