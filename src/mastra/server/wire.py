"""Mastra's JSON on the wire: our results, events and records in the camelCase shapes that
Mastra's TypeScript server sends (and ``@mastra/client-js`` and Mastra Studio read), and the
AI-SDK-style messages they send us."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from mastra.agent import AgentResult, Step
from mastra.errors import ValidationError
from mastra.messages import (
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
    Usage,
)
from mastra.storage import StoredMessage, Thread, WorkflowRun
from mastra.workflows import StepResult, WorkflowResult
from mastra.workflows.run import as_shown

__all__ = [
    "agent_result",
    "finish_reason",
    "message_out",
    "messages_in",
    "stored_message",
    "thread",
    "usage",
    "workflow_result",
    "workflow_run",
]

_FINISH = {"tool_calls": "tool-calls", "content_filter": "content-filter", "max_steps": "length"}
_ROLES = ("system", "user", "assistant", "tool")


def finish_reason(reason: str) -> str:
    """Ours (``tool_calls``) as the AI SDK spells it (``tool-calls``)."""
    return _FINISH.get(reason, reason)


def usage(value: Usage) -> dict[str, int]:
    return {
        "inputTokens": value.input_tokens,
        "outputTokens": value.output_tokens,
        "totalTokens": value.total_tokens,
        "cachedInputTokens": value.cached_input_tokens,
    }


def millis(moment: float | datetime) -> int:
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return int(seconds * 1000)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# -- messages in ---------------------------------------------------------------------------


def messages_in(value: Any) -> list[Message]:
    """``"hi"``, ``["hi", ...]`` or AI SDK ``CoreMessage``s (``{role, content}`` with content a
    string or a list of parts) as our messages; ValidationError naming the bad element."""
    if isinstance(value, str):
        return [Message.user(value)]
    if not isinstance(value, list) or not value:
        raise ValidationError(
            "messages must be a string or a non-empty list of messages ({role, content})"
        )
    return [_message_in(f"messages[{i}]", item) for i, item in enumerate(value)]


def _message_in(where: str, item: Any) -> Message:
    if isinstance(item, str):
        return Message.user(item)
    if not isinstance(item, dict) or item.get("role") not in _ROLES:
        raise ValidationError(
            f"{where} must be a string or an object with role one of {', '.join(_ROLES)}"
        )
    role, content = item["role"], item.get("content", "")
    if isinstance(content, str):
        if role == "assistant":
            return Message.assistant(content or None)
        return Message(role, [TextPart(content)] if content else [])
    if not isinstance(content, list):
        raise ValidationError(f"{where}.content must be a string or a list of parts")
    return Message(role, [_part_in(f"{where}.content[{i}]", p) for i, p in enumerate(content)])


def _part_in(where: str, part: Any) -> Part:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return TextPart(part["text"])
    if kind == "reasoning" and isinstance(part.get("text"), str):
        return ReasoningPart(part["text"])
    if kind in ("image", "file"):
        return _image_in(where, part)
    if kind == "tool-call" and isinstance(part.get("toolCallId"), str):
        args = part.get("args", part.get("input", {}))
        return ToolCall(part["toolCallId"], str(part.get("toolName", "")), args or {})
    if kind == "tool-result" and isinstance(part.get("toolCallId"), str):
        result = part.get("result", part.get("output"))
        return ToolResult(
            part["toolCallId"], str(part.get("toolName", "")), result, bool(part.get("isError"))
        )
    raise ValidationError(
        f"{where} is not a part we understand; expected type text, reasoning, image, file, "
        "tool-call or tool-result"
    )


def _image_in(where: str, part: dict[str, Any]) -> ImagePart:
    source = part.get("image", part.get("data", part.get("url")))
    media = part.get("mimeType") or part.get("mediaType")
    if not isinstance(source, str):
        raise ValidationError(f"{where} needs image (a URL, a data: URL or base64 text)")
    if source.startswith(("http://", "https://")):
        return ImagePart(url=source, media_type=media)
    if source.startswith("data:"):
        header, _, source = source.partition(",")
        media = media or header[5:].split(";")[0] or None
    try:
        return ImagePart(data=base64.b64decode(source, validate=True), media_type=media)
    except ValueError:
        raise ValidationError(f"{where}.image is neither a URL nor base64 data") from None


# -- messages out --------------------------------------------------------------------------


def message_out(message: Message) -> dict[str, Any]:
    """An AI SDK ``CoreMessage``: ``{role, content: [parts]}``."""
    return {"role": message.role, "content": [_part_out(p) for p in message.parts]}


def _part_out(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ReasoningPart):
        return {"type": "reasoning", "text": part.text}
    if isinstance(part, ImagePart):
        image = part.url or base64.b64encode(part.data or b"").decode()
        return {"type": "image", "image": image, "mimeType": part.media_type}
    if isinstance(part, ToolCall):
        return tool_call(part)
    return tool_result(part)


def tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "type": "tool-call",
        "toolCallId": call.id,
        "toolName": call.name,
        "args": call.arguments,
    }


def tool_result(result: ToolResult, args: Any = None) -> dict[str, Any]:
    out = {
        "type": "tool-result",
        "toolCallId": result.tool_call_id,
        "toolName": result.name,
        "result": result.content,
    }
    if result.is_error:
        out["isError"] = True
    if args is not None:
        out["args"] = args
    return out


def _step(step: Step) -> dict[str, Any]:
    return {
        "stepType": "initial" if step.index == 0 else "tool-result",
        "text": step.response.text,
        "reasoningText": step.response.message.reasoning or None,
        "toolCalls": [tool_call(c) for c in step.tool_calls],
        "toolResults": [tool_result(r) for r in step.tool_results],
        "finishReason": finish_reason(step.response.finish_reason),
        "usage": usage(step.usage),
        "response": {"id": step.response.id, "modelId": step.response.model},
    }


def agent_result(result: AgentResult) -> dict[str, Any]:
    """``MastraModelOutput.getFullOutput()`` as Mastra's ``/generate`` answers."""
    calls = {c.id: c.arguments for c in result.tool_calls}
    reasoning = "".join(s.response.message.reasoning for s in result.steps) or None
    return {
        "text": result.text,
        "object": msgspec.to_builtins(result.object),
        "finishReason": finish_reason(result.finish_reason),
        "usage": usage(result.usage),
        "totalUsage": usage(result.usage),
        "steps": [_step(s) for s in result.steps],
        "toolCalls": [tool_call(c) for c in result.tool_calls],
        "toolResults": [tool_result(r, calls.get(r.tool_call_id)) for r in result.tool_results],
        "reasoningText": reasoning,
        "reasoning": [{"type": "reasoning", "text": reasoning}] if reasoning else [],
        "response": {"messages": [message_out(m) for m in result.messages if m.role != "user"]},
        "messages": [message_out(m) for m in result.messages],
        "runId": result.run_id,
        "warnings": [],
        "sources": [],
        "files": [],
        "error": None,
    }


# -- memory --------------------------------------------------------------------------------


def thread(value: Thread) -> dict[str, Any]:
    return {
        "id": value.id,
        "title": value.title,
        "resourceId": value.resource_id,
        "metadata": value.metadata,
        "createdAt": iso(value.created_at),
        "updatedAt": iso(value.updated_at),
    }


def stored_message(value: StoredMessage) -> dict[str, Any]:
    """A ``MastraDBMessage``: ``content: {format: 2, parts, content}`` with the text too."""
    message = value.to_message()
    return {
        "id": value.id,
        "role": value.role,
        "threadId": value.thread_id,
        "resourceId": value.resource_id,
        "createdAt": iso(value.created_at),
        "type": "v2",
        "content": {
            "format": 2,
            "parts": [_ui_part(p) for p in value.parts],
            "content": message.text,
        },
    }


def _ui_part(part: Part) -> dict[str, Any]:
    if isinstance(part, ToolCall):
        invocation = {"state": "call", "toolCallId": part.id, "toolName": part.name}
        return {"type": "tool-invocation", "toolInvocation": {**invocation, "args": part.arguments}}
    if isinstance(part, ToolResult):
        return {
            "type": "tool-invocation",
            "toolInvocation": {
                "state": "result",
                "toolCallId": part.tool_call_id,
                "toolName": part.name,
                "result": part.content,
            },
        }
    return _part_out(part)


def stored_messages_in(
    items: Iterable[Any], thread_id: str | None, resource_id: str | None
) -> list[StoredMessage]:
    """Messages to save: ``{id?, role, content, threadId?, resourceId?, createdAt?}`` where
    content is a string, a list of parts, or ``{format: 2, parts}``."""
    out = []
    for i, item in enumerate(items):
        where = f"messages[{i}]"
        if not isinstance(item, dict):
            raise ValidationError(f"{where} must be an object")
        content = item.get("content")
        if isinstance(content, dict):  # MastraDBMessage v2
            content = content.get("parts") or content.get("content", "")
        message = _message_in(where, {"role": item.get("role"), "content": content})
        thread_of = item.get("threadId") or thread_id
        if not isinstance(thread_of, str):
            raise ValidationError(f"{where} needs a threadId")
        created = item.get("createdAt")
        out.append(
            StoredMessage.of(
                message,
                id=str(item.get("id") or f"msg-{time.time_ns()}-{i}"),
                thread_id=thread_of,
                resource_id=item.get("resourceId") or resource_id,
                created_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
            )
        )
    return out


# -- workflows -----------------------------------------------------------------------------


def step_result(value: StepResult) -> dict[str, Any]:
    out: dict[str, Any] = {"status": value.status, "startedAt": millis(value.started_at)}
    if value.status == "success":
        out["output"] = as_shown(value.output)
    if value.error is not None:
        out["error"] = value.error
    if value.status == "suspended":
        out["suspendPayload"] = msgspec.to_builtins(value.suspend_payload)
        out["suspendedAt"] = millis(value.ended_at)
    elif value.ended_at:
        out["endedAt"] = millis(value.ended_at)
    return out


def workflow_result(result: WorkflowResult, input: Any = None) -> dict[str, Any]:
    """A Mastra ``WorkflowResult``: ``suspended`` as step paths, errors as objects."""
    out: dict[str, Any] = {
        "status": result.status,
        "steps": {k: step_result(v) for k, v in result.steps.items()},
        "input": msgspec.to_builtins(input),
    }
    if result.status == "success":
        out["result"] = as_shown(result.result)
    if result.error is not None:
        out["error"] = {"message": result.error}
    if result.suspended:
        out["suspended"] = [key.split(".") for key in result.suspended]
        first = result.steps.get(result.suspended[0])
        out["suspendPayload"] = msgspec.to_builtins(first.suspend_payload) if first else None
    return out


def workflow_run(run: WorkflowRun) -> dict[str, Any]:
    """A runs-list entry (``WorkflowRun``) with the ``WorkflowState`` fields beside it."""
    snapshot = run.snapshot or {}
    return {
        "workflowName": run.workflow_id,
        "runId": run.run_id,
        "status": run.status,
        "snapshot": snapshot,
        "result": snapshot.get("data") if run.status == "success" else None,
        "error": {"message": snapshot["error"]} if snapshot.get("error") else None,
        "steps": {
            k: step_result(msgspec.convert(v, StepResult))
            for k, v in snapshot.get("results", {}).items()
        },
        "createdAt": iso(run.created_at),
        "updatedAt": iso(run.updated_at),
    }
