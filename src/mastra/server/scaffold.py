"""``mastra init``: the files of a small runnable project."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FILES", "scaffold"]

APP = '''"""A Mastra.py app: an agent with a tool and memory, a workflow, SQLite storage.

    mastra serve app:mastra          # http://127.0.0.1:4111/api/agents
    mastra dev app:mastra            # the same, restarting when a file changes

The agent's model comes from MASTRA_MODEL (e.g. openai/gpt-4o-mini with OPENAI_API_KEY; see
.env.example); without it, a scripted offline stand-in answers, so everything runs as is.
"""

import os
from datetime import UTC, datetime

import msgspec

from mastra import Agent, Mastra, Workflow, step, tool
from mastra.llm import ModelRequest, ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory
from mastra.messages import Message, ToolCall
from mastra.storage import SQLiteStorage
from mastra.workflows import StepContext


@tool
def current_time(timezone: str = "UTC") -> dict:
    """The current time.

    Args:
        timezone: Only UTC is known to this example.
    """
    return {"timezone": timezone, "time": datetime.now(UTC).strftime("%H:%M")}


def offline(request: ModelRequest) -> ModelResponse | str:
    """A scripted stand-in for a model: it asks for the time, then says it."""
    last = request.messages[-1]
    if last.role == "tool":
        return f"It is {last.tool_results[0].content['time']} UTC (offline stand-in model)."
    call = ToolCall("call_1", "current_time", {})
    return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")


assistant = Agent(
    "assistant",
    "You are a helpful assistant. Use current_time when asked about the time.",
    os.environ.get("MASTRA_MODEL") or FunctionModel(offline),
    tools=[current_time],
    memory=Memory(),
)


class Greeting(msgspec.Struct):
    name: str


@step
def greet(ctx: StepContext, person: Greeting) -> str:
    return f"Hello, {person.name}!"


@step
def shout(ctx: StepContext, text: str) -> str:
    return text.upper()


greeting = Workflow("greeting", input=Greeting).then(greet).then(shout).commit()

mastra = Mastra(
    agents=[assistant],
    workflows=[greeting],
    storage=SQLiteStorage(os.environ.get("MASTRA_DB", "mastra.db")),
)
'''

TEST = '''"""Run with: python -m pytest"""

import asyncio
import os

os.environ.pop("MASTRA_MODEL", None)  # the tests use the offline stand-in model
os.environ["MASTRA_DB"] = ":memory:"

from app import mastra  # noqa: E402


def test_the_agent_uses_its_tool():
    result = mastra.get_agent("assistant").generate_sync("What time is it?")
    assert [call.name for call in result.tool_calls] == ["current_time"]
    assert "UTC" in result.text


def test_the_workflow_greets():
    run = mastra.get_workflow("greeting").create_run()
    result = asyncio.run(run.start({"name": "Ada"}))
    assert result.status == "success" and result.result == "HELLO, ADA!"
'''

ENV = """# Copy to .env (or export these) to use a real model and protect the server.
MASTRA_MODEL=openai/gpt-4o-mini
OPENAI_API_KEY=sk-...
# MASTRA_API_KEYS=change-me            # mastra serve then requires Authorization: Bearer change-me
# MASTRA_DB=mastra.db
"""

README = """# A Mastra.py app

- `app.py`: the agent (with a tool and memory), a workflow and SQLite storage.
- `python -m pytest`: the tests (offline).
- `mastra serve app:mastra`: serves Mastra's REST API on http://127.0.0.1:4111/api and the
  OpenAI-compatible API on /v1 (`model` = `assistant`); `mastra dev app:mastra` restarts on
  changes.
"""

FILES = {
    "app.py": APP,
    "tests/test_app.py": TEST,
    "tests/conftest.py": "import sys\nfrom pathlib import Path\n\n"
    "sys.path.insert(0, str(Path(__file__).parent.parent))\n",
    ".env.example": ENV,
    "README.md": README,
}


def scaffold(target: Path) -> list[Path]:
    """Write the project's files under ``target``; the paths written."""
    written = []
    for name, text in FILES.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
