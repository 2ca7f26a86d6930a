"""An agent that remembers across threads (semantic recall) — offline, with a scripted model
that answers from what memory put in front of it.

Run: python examples/agent_memory.py
"""

import asyncio
import tempfile
from pathlib import Path

from mastra import Agent
from mastra.llm import ModelRequest
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory, MemoryOptions, SemanticRecall
from mastra.storage import SQLiteStorage
from mastra.vector import SQLiteVector


def brain(request: ModelRequest) -> str:
    recalled = [m.text for m in request.messages if m.role == "system" and "Relevant" in m.text]
    return recalled[0].splitlines()[1] if recalled else "Noted."


async def main() -> None:
    path = Path(tempfile.mkdtemp()) / "memory.db"
    memory = Memory(
        SQLiteStorage(path),
        SQLiteVector(path),
        options=MemoryOptions(semantic_recall=SemanticRecall(top_k=1, message_range=0)),
    )
    agent = Agent("assistant", "Be brief.", FunctionModel(brain), memory=memory)
    await agent.generate("My cat is called Whiskers.", thread_id="monday", resource_id="ada")
    await agent.generate("I bake bread on Sundays.", thread_id="tuesday", resource_id="ada")
    answer = await agent.generate("What is my cat called?", thread_id="friday", resource_id="ada")
    print("recalled:", answer.text)
    await memory.storage.close()


if __name__ == "__main__":
    asyncio.run(main())
