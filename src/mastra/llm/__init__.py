"""Language models behind one interface: the router, the providers and testing models.

>>> model = get_model("openai/gpt-4o-mini")
>>> response = await model.generate(ModelRequest(messages=[Message.user("Hello")]))
"""

from mastra.llm.anthropic import AnthropicModel
from mastra.llm.base import CachedModel, LanguageModel, StreamAssembler
from mastra.llm.fallback import CircuitBreaker, FallbackModel, is_retryable
from mastra.llm.google import GoogleModel
from mastra.llm.openai import OpenAIChatModel
from mastra.llm.router import PROVIDERS, get_model
from mastra.llm.types import (
    Finish,
    JsonSchemaFormat,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolChoice,
    ToolSpec,
    UsageUpdate,
)

__all__ = [
    "PROVIDERS",
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
]
