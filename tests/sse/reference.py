"""A plain reading of the WHATWG rules for "interpreting an event stream", on a whole stream."""

import re

from mastra.sse import ServerSentEvent


def parse(stream: bytes) -> list[ServerSentEvent]:
    text = stream.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\n|\r", text)
    lines.pop()  # the text after the last line end is not a complete line
    events, data, event_type, last_id, retry = [], [], "", "", None
    for line in lines:
        if line == "":
            if data:
                events.append(
                    ServerSentEvent(event_type or "message", "\n".join(data), last_id, retry)
                )
            data, event_type, retry = [], "", None
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry" and value and all("0" <= c <= "9" for c in value):
            retry = int(value)
    return events
