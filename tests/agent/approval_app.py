"""An agent whose one tool needs approval, shared by the approval tests and the worker
processes they start (``python -m tests.agent.approval_app DB LOG RUN CALL START``)."""

import json
import os
import sys
import time

from mastra.agent import Agent, ResumeError
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall
from mastra.storage import SQLiteStorage
from mastra.tools import tool


def script(request):
    last = request.messages[-1]
    if last.role == "tool":
        return f"done: {last.tool_results[0].content}"
    call = ToolCall("call_1", "transfer", {"amount": 100})
    return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")


def make_agent(db, log):
    @tool(requires_approval=True)
    def transfer(amount: int) -> str:
        """Move money (needs a human's approval)."""
        with open(log, "a") as out:
            out.write(f"{os.getpid()}\n")
        time.sleep(0.3)  # long enough for a second process to try meanwhile
        return f"sent {amount}"

    return Agent("bank", model=FunctionModel(script), tools=[transfer], storage=SQLiteStorage(db))


def main(db, log, run_id, call_id, start):
    agent = make_agent(db, log)
    time.sleep(max(0.0, float(start) - time.time()))
    try:
        result = agent.approve_sync(run_id, call_id)
        print(json.dumps({"status": result.status, "text": result.text}))
    except ResumeError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
