"""Tools: typed functions an agent's model can call."""

from collections.abc import Iterable
from typing import Any

from mastra.errors import ConfigError
from mastra.plugins import load, names
from mastra.tools.docstrings import parse_docstring
from mastra.tools.tool import (
    AbortSignal,
    FunctionTool,
    Tool,
    ToolContext,
    ToolOutcome,
    ToolSuspended,
    tool,
)

__all__ = [
    "AbortSignal",
    "FunctionTool",
    "Tool",
    "ToolContext",
    "ToolOutcome",
    "ToolSuspended",
    "parse_docstring",
    "plugin_tools",
    "tool",
]


def plugin_tools() -> list[Tool[Any]]:
    """The tools installed plugins register (the ``mastra.tools`` entry points: a Tool or
    an iterable of Tools each), in plugin-name order; give them to an agent or to Mastra."""
    found: list[Tool[Any]] = []
    for name in names("tools"):
        registered = load("tools", name)
        items = [registered] if isinstance(registered, Tool) else registered
        if not isinstance(items, Iterable) or not all(isinstance(t, Tool) for t in items):
            raise ConfigError(
                f"the mastra.tools plugin {name!r} registers {registered!r}; expected a Tool "
                "or a list of Tools"
            )
        found.extend(items)
    return found
