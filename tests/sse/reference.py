"""A plain reading of the WHATWG rules for "interpreting an event stream", on a whole stream,
with SSEDecoder's size limit: an event whose lines (line ends not counted) add up to more than
``max_event_bytes`` is skipped whole, as if its lines were not in the stream."""

import math
import re
from dataclasses import dataclass, field

from mastra.sse import ServerSentEvent

BOM = b"\xef\xbb\xbf"


@dataclass
class Result:
    events: list[ServerSentEvent] = field(default_factory=list)
    skipped: int = 0
    last_event_id: str = ""  # the spec's "last event ID string": set when an event dispatches
    retry: int | None = None  # the reconnection time: set as soon as a retry field is read


@dataclass
class Block:
    """The fields of the lines between two blank lines."""

    data: list[str] = field(default_factory=list)
    event_type: str = ""
    id_buffer: str = ""
    retry: int | None = None


def interpret(stream: bytes, max_event_bytes: float = math.inf) -> Result:
    if BOM.startswith(stream):
        stream = b""  # the first bytes of a BOM: nothing to read yet
    *lines, tail = re.split(rb"\r\n|\n|\r", stream.removeprefix(BOM))
    result, block = Result(), []
    for line in lines:
        if line:
            block.append(line)
            continue
        if sum(map(len, block)) > max_event_bytes:
            result.skipped += 1
        else:
            _dispatch(_read(block, result), result)
        block = []
    if sum(map(len, block)) + len(tail) > max_event_bytes:
        result.skipped += 1  # an unfinished event already over the limit
    else:
        _read(block, result)  # an unfinished event is not dispatched; its retry still counts
    return result


def parse(stream: bytes) -> list[ServerSentEvent]:
    return interpret(stream).events


def _read(lines: list[bytes], result: Result) -> Block:
    block = Block(id_buffer=result.last_event_id)
    for line in lines:
        if line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        value = value.removeprefix(b" ")
        text = value.decode("utf-8", errors="replace")
        if name == b"data":
            block.data.append(text)
        elif name == b"event":
            block.event_type = text
        elif name == b"id" and b"\0" not in value:
            block.id_buffer = text
        elif name == b"retry" and value.isdigit():
            block.retry = result.retry = int(value)
    return block


def _dispatch(block: Block, result: Result) -> None:
    result.last_event_id = block.id_buffer  # even when there is no data to dispatch
    if block.data:
        event_type = block.event_type or "message"  # an empty type means "message"
        data = "\n".join(block.data)
        result.events.append(ServerSentEvent(event_type, data, block.id_buffer, block.retry))
