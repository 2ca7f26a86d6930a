"""Evals: scorers (code and model-judged), ``run_evals`` over a data set with a report that
exports and compares, and live scoring of sampled runs.

>>> report = await run_evals("cases.jsonl", agent, [exact_match(), faithfulness(judge)])
>>> print(report.summary())
"""

from mastra.evals.code import (
    completeness,
    contains,
    content_similarity,
    edit_similarity,
    exact_match,
    json_schema,
    regex,
    textual_difference,
    token_f1,
    tool_call_accuracy,
)
from mastra.evals.data import EvalItem, load_dataset
from mastra.evals.judges import (
    JUDGES,
    Judgement,
    Judgements,
    answer_relevancy,
    bias,
    context_precision,
    context_relevance,
    faithfulness,
    hallucination,
    prompt_alignment,
    toxicity,
)
from mastra.evals.live import LiveScoring, Sampling
from mastra.evals.report import (
    Comparison,
    EvalReport,
    Failure,
    ItemResult,
    Regression,
    ScorerSummary,
)
from mastra.evals.runner import run_evals
from mastra.evals.scorer import Scorer, ScoreResult, ScoreRun, output_text

__all__ = [
    "JUDGES",
    "Comparison",
    "EvalItem",
    "EvalReport",
    "Failure",
    "ItemResult",
    "Judgement",
    "Judgements",
    "LiveScoring",
    "Regression",
    "Sampling",
    "ScoreResult",
    "ScoreRun",
    "Scorer",
    "ScorerSummary",
    "answer_relevancy",
    "bias",
    "completeness",
    "contains",
    "content_similarity",
    "context_precision",
    "context_relevance",
    "edit_similarity",
    "exact_match",
    "faithfulness",
    "hallucination",
    "json_schema",
    "load_dataset",
    "output_text",
    "prompt_alignment",
    "regex",
    "run_evals",
    "textual_difference",
    "token_f1",
    "tool_call_accuracy",
    "toxicity",
]
