"""A model as judge: one JSON verdict per text, for moderation and injection detection."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec

from mastra.errors import MastraError
from mastra.llm.base import LanguageModel
from mastra.llm.types import JsonSchemaFormat, ModelRequest, ModelSettings
from mastra.messages import Message
from mastra.processors.base import ProcessorContext
from mastra.telemetry import get_logger

__all__ = ["OnError", "ask_judge"]

T = TypeVar("T")
OnError = Literal["allow", "block"]

_log = get_logger("processors")
_SETTINGS = ModelSettings(temperature=0.0)


def _json_part(text: str) -> str:
    """The JSON object in an answer (models sometimes wrap it in prose or a code fence)."""
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text


async def ask_judge(
    model: LanguageModel,
    instructions: str,
    text: str,
    schema: dict[str, Any],
    verdict: type[T],
    *,
    ctx: ProcessorContext,
    on_error: OnError,
) -> T | None:
    """The judge's verdict on ``text``; None when the judge failed (a provider error or an
    answer that is not the verdict) and ``on_error="allow"``; with ``"block"`` the failure
    trips the wire. The failure is logged without the text."""
    request = ModelRequest(
        messages=[Message.system(instructions), Message.user(text)],
        response_format=JsonSchemaFormat(verdict.__name__.lower(), schema),
        settings=_SETTINGS,
    )
    try:
        response = await model.generate(request)
        return msgspec.json.decode(_json_part(response.text), type=verdict)
    except (MastraError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        problem = f"{type(exc).__name__}: {str(exc)[:200]}"
    _log.warning("the judge %s of %s failed: %s", model.name, ctx.processor, problem)
    if on_error == "block":
        ctx.abort(f"the judge model failed ({problem}) and on_error='block'")
    return None
