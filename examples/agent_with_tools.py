"""An agent with two tools and structured output, runnable offline.

Run: python examples/agent_with_tools.py            (TestModel, offline)
     MASTRA_MODEL=openai/gpt-4o-mini python examples/agent_with_tools.py
"""

import os

import msgspec

from mastra import Agent, tool
from mastra.llm.testing import TestModel


@tool
def exchange_rate(base: str, quote: str) -> float:
    """Today's exchange rate.

    Args:
        base: ISO code of the currency to convert from, e.g. "EUR".
        quote: ISO code of the currency to convert to, e.g. "USD".
    """
    rates = {("EUR", "USD"): 1.08, ("USD", "EUR"): 0.93}
    return rates.get((base.upper(), quote.upper()), 1.0)


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


class Conversion(msgspec.Struct):
    amount: float
    currency: str


model = os.environ.get("MASTRA_MODEL") or TestModel()
agent = Agent(
    "fx",
    "Convert money using the tools; never guess rates.",
    model,
    tools=[exchange_rate, multiply],
    output=Conversion,
)
result = agent.generate_sync("How many USD is 250 EUR?")
print("object:", result.object)
print("tool calls:", [(c.name, c.arguments) for c in result.tool_calls])
print("steps:", len(result.steps), "usage:", result.usage)
