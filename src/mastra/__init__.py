"""Mastra.py: agents with tools and memory, durable workflows, RAG, storage and vector search,
on compiled hot paths.

Importing ``mastra`` is cheap: only the error classes load eagerly; everything else loads on
first use of its name (PEP 562), so ``import mastra`` pulls in neither aiohttp nor numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from mastra.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConnectionError,
    ContextLengthError,
    EventTooLargeError,
    LeaseLostError,
    MastraError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    ServiceError,
    StorageError,
    StreamError,
    TimeoutError,
    ToolError,
    TransportError,
    ValidationError,
    WorkflowError,
    WorkflowGraphError,
    WorkflowValidationError,
)

__version__ = "0.1.0"

# Public name -> module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "Mastra": "mastra.mastra",
    "MastraConfig": "mastra.config",
    "load_config": "mastra.config",
    "native_info": "mastra._nativeinfo",
    "Telemetry": "mastra.telemetry",
    "Tracer": "mastra.telemetry",
    "get_model": "mastra.llm",
    "FallbackModel": "mastra.llm",
    "LanguageModel": "mastra.llm",
    "ModelRequest": "mastra.llm",
    "ModelResponse": "mastra.llm",
    "Message": "mastra.messages",
    "Agent": "mastra.agent",
    "AbortSignal": "mastra.agent",
    "AgentResult": "mastra.agent",
    "Tool": "mastra.tools",
    "ToolContext": "mastra.tools",
    "tool": "mastra.tools",
    "Workflow": "mastra.workflows",
    "step": "mastra.workflows",
    "Memory": "mastra.memory",
    "MastraClient": "mastra.client",
}

if TYPE_CHECKING:
    from mastra._nativeinfo import native_info
    from mastra.agent import AbortSignal, Agent, AgentResult
    from mastra.client import MastraClient
    from mastra.config import MastraConfig, load_config
    from mastra.llm import FallbackModel, LanguageModel, ModelRequest, ModelResponse, get_model
    from mastra.mastra import Mastra
    from mastra.memory import Memory
    from mastra.messages import Message
    from mastra.telemetry import Telemetry, Tracer
    from mastra.tools import Tool, ToolContext, tool
    from mastra.workflows import Workflow, step

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mastra' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
