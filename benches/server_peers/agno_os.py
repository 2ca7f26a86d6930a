"""agno's AgentOS serving agents on an instant in-process model (agno ships no test model;
``InstantModel`` is a minimal ``agno.models.base.Model`` that answers a fixed text with no
network, streamed one word per delta).

Run: python -m server_peers.agno_os PORT [LOOP]
"""

import asyncio
import sys
from dataclasses import dataclass, field

from agno.agent import Agent
from agno.models.base import Model
from agno.models.response import ModelResponse
from agno.os import AgentOS

from server_peers import AGENTS, HOLD


@dataclass
class InstantModel(Model):
    id: str = "instant"
    name: str = "instant"
    provider: str = "instant"
    text: str = ""
    hold: bool = False
    words: list[str] = field(default_factory=list)

    def __post_init__(self):
        super().__post_init__()
        words = self.text.split(" ")
        self.words = [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]

    def invoke(self, *args, **kwargs):
        return ModelResponse(role="assistant", content=self.text)

    async def ainvoke(self, *args, **kwargs):
        if self.hold:
            await asyncio.Event().wait()
        return ModelResponse(role="assistant", content=self.text)

    def invoke_stream(self, *args, **kwargs):
        for word in self.words:
            yield ModelResponse(role="assistant", content=word)

    async def ainvoke_stream(self, *args, **kwargs):
        if self.hold:
            await asyncio.Event().wait()
        for word in self.words:
            yield ModelResponse(role="assistant", content=word)

    def _parse_provider_response(self, response, **kwargs):
        return response

    def _parse_provider_response_delta(self, response):
        return response


def agent(name, model):
    return Agent(id=name, name=name, model=model, instructions="You answer.", telemetry=False)


agent_os = AgentOS(
    agents=[
        *(agent(name, InstantModel(text=text)) for name, text in AGENTS.items()),
        agent(HOLD, InstantModel(hold=True)),
    ],
    telemetry=False,
)
app = agent_os.get_app()

if __name__ == "__main__":
    # uvicorn's C HTTP parser on the stdlib loop, as ours (aiohttp's C parser, asyncio);
    # `python -m server_peers.agno_os PORT uvloop` swaps in uvloop
    loop = sys.argv[2] if len(sys.argv) > 2 else "asyncio"
    agent_os.serve(app=app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", loop=loop)
