"""Tools: typed functions an agent's model can call."""

from mastra.tools.docstrings import parse_docstring
from mastra.tools.tool import FunctionTool, Tool, ToolContext, ToolOutcome, tool

__all__ = ["FunctionTool", "Tool", "ToolContext", "ToolOutcome", "parse_docstring", "tool"]
