"""The Acme plugin for Mastra.py: an offline model, storage and vectors selected by URL, and
two tools."""

from collections.abc import AsyncGenerator

from mastra.llm import LanguageModel, ModelRequest, ModelResponse, StreamEvent
from mastra.llm.testing import FunctionModel
from mastra.messages import Message
from mastra.storage import InMemoryStorage
from mastra.tools import tool
from mastra.vector import InMemoryVector


class AcmeModel(LanguageModel):
    """Answers every prompt with "acme <model>: <the last user message>"."""

    provider = "acme"

    def __init__(self, model: str, *, api_key: str | None = None, **options: object) -> None:
        self.model, self.options = model, options
        self._echo = FunctionModel(
            lambda request: f"acme {model}: {request.messages[-1].text}", model=model
        )

    async def generate(self, request: ModelRequest) -> ModelResponse:
        answer = await self._echo.generate(request)
        return ModelResponse(message=Message.assistant(answer.text), model=self.model)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        async for event in self._echo.stream(request):
            yield event


class AcmeStorage(InMemoryStorage):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url


def open_storage(url: str) -> AcmeStorage:
    return AcmeStorage(url)


def open_vectors(url: str) -> InMemoryVector:
    return InMemoryVector()


@tool
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


@tool
def whisper(text: str) -> str:
    """Lower-case the text."""
    return text.lower()


TOOLS = [shout, whisper]
