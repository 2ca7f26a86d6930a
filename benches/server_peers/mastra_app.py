"""Our server's app: three agents on instant FunctionModels (see the package docstring)."""

import asyncio

from mastra import Mastra
from mastra.agent import Agent
from mastra.llm.testing import FunctionModel
from server_peers import AGENTS, HOLD


def answering(text):
    return FunctionModel(lambda request: text)


async def never(request):
    await asyncio.Event().wait()  # until the run is cancelled (the client went away)
    return ""


mastra = Mastra(
    agents=[
        *(Agent(name, "You answer.", answering(text)) for name, text in AGENTS.items()),
        Agent(HOLD, "You answer.", FunctionModel(never)),
    ]
)
