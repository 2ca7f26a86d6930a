"""The public surface of every subpackage, pinned: a name that disappears, or one that
leaks into ``__all__`` by accident, fails here first. Every public name resolves, carries a
docstring (for classes and functions), and user code type-checks against it (mypy strict)."""

import importlib
import inspect
import subprocess
import sys
import textwrap

import pytest

PUBLIC = {
    "mastra.client": {
        "AgentClient",
        "MastraClient",
        "RunClient",
        "ThreadClient",
        "ToolClient",
        "VectorClient",
        "WorkflowClient",
    },
    "mastra.evals": {
        "Comparison",
        "EvalItem",
        "EvalReport",
        "Failure",
        "ItemResult",
        "JUDGES",
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
    },
    "mastra": {
        "AbortSignal",
        "Agent",
        "AgentResult",
        "AuthenticationError",
        "BadRequestError",
        "ConfigError",
        "ConnectionError",
        "ContextLengthError",
        "EventTooLargeError",
        "FallbackModel",
        "LanguageModel",
        "LeaseLostError",
        "Mastra",
        "MastraClient",
        "MastraConfig",
        "MastraError",
        "Memory",
        "Message",
        "ModelRequest",
        "ModelResponse",
        "NotFoundError",
        "ProviderError",
        "RateLimitError",
        "ServerError",
        "ServiceError",
        "StorageError",
        "StreamError",
        "Telemetry",
        "TimeoutError",
        "Tool",
        "ToolContext",
        "ToolError",
        "Tracer",
        "TransportError",
        "ValidationError",
        "Workflow",
        "WorkflowError",
        "WorkflowGraphError",
        "WorkflowValidationError",
        "__version__",
        "get_model",
        "load_config",
        "native_info",
        "step",
        "tool",
    },
    "mastra.agent": {
        "AbortSignal",
        "Agent",
        "AgentEvent",
        "AgentFinish",
        "AgentResult",
        "ContinueOptions",
        "DelegationComplete",
        "DelegationStart",
        "ModelSettings",
        "NetworkOptions",
        "PendingToolCall",
        "ReasoningDelta",
        "Reject",
        "ResumeError",
        "RunContext",
        "RunOptions",
        "Step",
        "StepFinish",
        "TextDelta",
        "ToolCallEvent",
        "ToolProgress",
        "ToolResultEvent",
    },
    "mastra.llm": {
        "AnthropicModel",
        "CachedModel",
        "CircuitBreaker",
        "FallbackModel",
        "Finish",
        "GoogleModel",
        "JsonSchemaFormat",
        "LanguageModel",
        "ModelRequest",
        "ModelResponse",
        "ModelSettings",
        "OpenAIChatModel",
        "PROVIDERS",
        "ReasoningDelta",
        "StreamAssembler",
        "StreamEvent",
        "TextDelta",
        "ToolCallDelta",
        "ToolCallEnd",
        "ToolCallStart",
        "ToolChoice",
        "ToolSpec",
        "UsageUpdate",
        "get_model",
        "is_retryable",
    },
    "mastra.llm.testing": {"FunctionModel", "TestModel", "sample_from_schema"},
    "mastra.tools": {
        "AbortSignal",
        "FunctionTool",
        "Tool",
        "ToolContext",
        "ToolOutcome",
        "ToolSuspended",
        "parse_docstring",
        "plugin_tools",
        "tool",
    },
    "mastra.storage": {
        "InMemoryStorage",
        "PostgresStorage",
        "Resource",
        "SQLiteStorage",
        "ScoreRecord",
        "Storage",
        "StoredMessage",
        "Thread",
        "WorkflowRun",
        "open_storage",
    },
    "mastra.memory": {
        "Memory",
        "MemoryOptions",
        "PrunePolicy",
        "SemanticRecall",
        "TokenLimiter",
        "ToolCallFilter",
        "WorkingMemory",
        "count_tokens",
    },
    "mastra.processors": {
        "DEFAULT_CATEGORIES",
        "FunctionProcessor",
        "InjectionVerdict",
        "ModerationProcessor",
        "ModerationVerdict",
        "PIIDetector",
        "PIIKind",
        "PIIMatch",
        "PII_KINDS",
        "Processor",
        "ProcessorContext",
        "PromptInjectionDetector",
        "TokenLimiter",
        "Tripwire",
        "UnicodeNormalizer",
        "as_processor",
        "count_tokens",
        "detect_pii",
        "iban_valid",
        "injection_score",
        "luhn_valid",
        "redact_pii",
    },
    "mastra.rag": {
        "BM25Index",
        "CachedEmbedder",
        "Chunk",
        "Chunker",
        "Document",
        "Embedder",
        "HashingEmbedder",
        "IngestReport",
        "JSONChunker",
        "LocalEmbedder",
        "MarkdownChunker",
        "ModelEmbedder",
        "RecursiveChunker",
        "RerankAPI",
        "SemanticChunker",
        "SentenceChunker",
        "Skipped",
        "TokenChunker",
        "ingest",
        "load_file",
        "rerank",
        "retrieve",
        "vector_query_tool",
    },
    "mastra.workflows": {
        "Durability",
        "Run",
        "Step",
        "StepContext",
        "StepResult",
        "Workflow",
        "WorkflowEvent",
        "WorkflowResult",
        "step",
    },
    "mastra.vector": {
        "BaseVectorStore",
        "CompressedMatrix",
        "InMemoryVector",
        "IndexStats",
        "PgVector",
        "QueryResult",
        "SQLiteVector",
        "VectorStore",
        "open_vectors",
        "top_k",
        "validate_filter",
    },
    "mastra.telemetry": {
        "AlwaysOff",
        "AlwaysOn",
        "BatchExporter",
        "BatchWorker",
        "ConsoleExporter",
        "Counter",
        "Histogram",
        "HistogramPoint",
        "InMemoryExporter",
        "JsonFormatter",
        "JsonlExporter",
        "Meter",
        "MetricPoint",
        "ParentBased",
        "REDACTED",
        "RedactingFilter",
        "Redactor",
        "Sampler",
        "Span",
        "SpanContext",
        "SpanEvent",
        "SpanExporter",
        "SpanRecord",
        "SpanStore",
        "StorageExporter",
        "Telemetry",
        "TraceContextFilter",
        "TraceIdRatio",
        "Tracer",
        "configure_logging",
        "current_span",
        "extract_traceparent",
        "format_traceparent",
        "get_logger",
        "inject_traceparent",
        "read_jsonl",
    },
    "mastra.http": {
        "HttpClient",
        "HttpResponse",
        "RETRY_STATUSES",
        "RetryPolicy",
        "Timeouts",
        "is_retryable_status",
        "parse_retry_after",
    },
    "mastra.cache": {"CacheStats", "LRUCache", "TTLCache", "cached", "hashkey"},
    "mastra.sse": {"EventTooLargeError", "SSEDecoder", "ServerSentEvent", "aiter_sse"},
    "mastra.errors": {
        "AuthenticationError",
        "BadRequestError",
        "ConfigError",
        "ConnectionError",
        "ContextLengthError",
        "EventTooLargeError",
        "LeaseLostError",
        "MastraError",
        "NotFoundError",
        "ProviderError",
        "RateLimitError",
        "ServerError",
        "ServiceError",
        "StorageError",
        "StreamError",
        "TimeoutError",
        "ToolError",
        "TransportError",
        "ValidationError",
        "WorkflowError",
        "WorkflowGraphError",
        "WorkflowValidationError",
    },
    "mastra.plugins": {"GROUPS", "Kind", "load", "names", "open_url"},
    "mastra.messages": {
        "FinishReason",
        "ImagePart",
        "Message",
        "Part",
        "ReasoningPart",
        "Role",
        "TextPart",
        "ToolCall",
        "ToolResult",
        "Usage",
    },
    "mastra.config": {"LoggingConfig", "MastraConfig", "TelemetryConfig", "load_config"},
}


@pytest.mark.parametrize("module", list(PUBLIC))
def test_public_names_are_pinned_and_resolve(module):
    imported = importlib.import_module(module)
    assert set(imported.__all__) == PUBLIC[module]
    for name in imported.__all__:
        value = getattr(imported, name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and not name.startswith("_"):
            assert inspect.getdoc(value), f"{module}.{name} has no docstring"


USER_CODE = textwrap.dedent("""
    from mastra import Agent, Mastra, Workflow, step
    from mastra.cache import LRUCache
    from mastra.llm import ModelRequest, ModelSettings
    from mastra.llm.testing import FunctionModel
    from mastra.workflows import StepContext

    agent = Agent("a", "Be brief.", FunctionModel(lambda request: "hi"))
    result = agent.generate_sync("hello", thread_id="t1", max_steps=2)
    text: str = result.text
    cache: LRUCache[str, int] = LRUCache(maxsize=10)
    cache["a"] = 1
    request = ModelRequest(messages=[], settings=ModelSettings(temperature=0.2))

    @step
    def double(ctx: StepContext, n: int) -> int:
        return n * 2

    app = Mastra(agents=[agent], workflows=[Workflow("w").then(double)])
    found: Agent = app.get_agent("a")
""")


def test_user_code_type_checks_and_typos_do_not(tmp_path):
    """mypy strict on a small program using the public API: it passes, and the same program
    with a misspelt keyword (``thred_id=``) or a wrong cache value type fails."""
    good = tmp_path / "good.py"
    good.write_text(USER_CODE)
    bad = tmp_path / "bad.py"
    bad.write_text(
        USER_CODE.replace("thread_id=", "thred_id=").replace('cache["a"] = 1', 'cache["a"] = "1"')
    )
    command = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir"]
    checked = subprocess.run(
        [*command, str(tmp_path / ".mypy"), str(good), str(bad)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = checked.stdout
    assert "good.py" not in report, report
    assert 'bad.py:9: error: Unexpected keyword argument "thred_id"' in report, report
    assert "bad.py:12: error: Incompatible types in assignment" in report, report
