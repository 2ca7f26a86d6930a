"""Processors and guardrails: rewrite or check what goes to the model and what comes back,
or trip the wire (``ctx.abort(reason)``) to stop a run.

>>> agent = Agent("support", model=..., input_processors=[UnicodeNormalizer(),
...     PromptInjectionDetector(), PIIDetector("redact")], output_processors=[PIIDetector()])
"""

from mastra.processors.base import (
    FunctionProcessor,
    Processor,
    ProcessorContext,
    Tripwire,
    as_processor,
)
from mastra.processors.injection import InjectionVerdict, PromptInjectionDetector, injection_score
from mastra.processors.moderation import (
    DEFAULT_CATEGORIES,
    ModerationProcessor,
    ModerationVerdict,
)
from mastra.processors.pii import (
    PII_KINDS,
    PIIDetector,
    PIIKind,
    PIIMatch,
    detect_pii,
    iban_valid,
    luhn_valid,
    redact_pii,
)
from mastra.processors.tokens import TokenLimiter, count_tokens
from mastra.processors.unicode import UnicodeNormalizer

__all__ = [
    "DEFAULT_CATEGORIES",
    "PII_KINDS",
    "FunctionProcessor",
    "InjectionVerdict",
    "ModerationProcessor",
    "ModerationVerdict",
    "PIIDetector",
    "PIIKind",
    "PIIMatch",
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
]
