"""A Mastra app for the MCP server tests: tools, an agent on a FunctionModel, a workflow.

Served over stdio by ``python -m mastra.cli mcp serve tests.mcp.app:mastra``.
"""

import msgspec

from mastra import Mastra
from mastra.agent import Agent
from mastra.llm.testing import FunctionModel
from mastra.tools import ToolContext, tool
from mastra.workflows import Workflow, step


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: the first factor.
        b: the second factor.
    """
    return a * b


@tool
async def count(to: int, ctx: ToolContext) -> str:
    """Count up to ``to``, reporting each number as progress."""
    for number in range(1, to + 1):
        ctx.progress(f"counted {number}", progress=number, total=to)
    return f"counted to {to}"


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"exploded: {reason}")


class Order(msgspec.Struct):
    item: str
    quantity: int


@step
async def price(ctx, order: Order) -> dict:
    return {"item": order.item, "total": order.quantity * 3}


orders = Workflow("orders", input=Order, description="Price an order.").then(price).commit()


@step
async def shout(ctx, text: str) -> str:
    return text.upper()


shouting = Workflow("shout", input=str).then(shout).commit()


def echo_model(request):
    return f"echo: {request.messages[-1].text}"


echo = Agent("echo", "Repeat the question.", FunctionModel(echo_model), description="Echoes.")

mastra = Mastra(agents=[echo], workflows=[orders, shouting], tools=[multiply, count, explode])
