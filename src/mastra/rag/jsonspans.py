"""JSON with source spans: a small scanner that records where each value sits in the text
(``json`` itself forgets), and the structural grouping :class:`~mastra.rag.JSONChunker` uses."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from mastra.errors import ValidationError

__all__ = ["JSONPiece", "json_pieces"]

_SPACE = re.compile(r"[ \t\n\r]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DECODER = json.JSONDecoder()


class _Node:
    __slots__ = ("end", "members", "object", "start", "value")

    def __init__(self, start: int) -> None:
        self.start, self.end = start, start
        # (key, value, where the member begins: its key's quote, or the item): None if scalar
        self.members: list[tuple[str | int, _Node, int]] | None = None
        self.object = False
        self.value: Any = None


class JSONPiece(NamedTuple):
    text: str
    start: int
    end: int
    path: str


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text

    def skip(self, i: int) -> int:
        match = _SPACE.match(self.text, i)
        return match.end() if match else i

    def expect(self, i: int, char: str) -> int:
        if self.text[i : i + 1] != char:
            raise json.JSONDecodeError(f"expected {char!r}", self.text, i)
        return i + 1

    def value(self, i: int) -> _Node:
        i = self.skip(i)
        node = _Node(i)
        opener = self.text[i : i + 1]
        if opener == "{":
            node.object, node.value = True, {}
            self.members(node, i + 1, "}")
        elif opener == "[":
            node.value = []
            self.members(node, i + 1, "]")
        else:
            node.value, node.end = _DECODER.raw_decode(self.text, i)
        return node

    def members(self, node: _Node, i: int, close: str) -> None:
        node.members = []
        i = self.skip(i)
        if self.text[i : i + 1] == close:
            node.end = i + 1
            return
        while True:
            key: str | int = len(node.members)
            begin = i = self.skip(i)
            if node.object:
                i = self.expect(i, '"')
                key, i = json.decoder.scanstring(self.text, i)  # type: ignore[attr-defined]
                i = self.expect(self.skip(i), ":")
            child = self.value(i)
            node.members.append((key, child, begin if node.object else child.start))
            if node.object:
                node.value[key] = child.value
            else:
                node.value.append(child.value)
            i = self.skip(child.end)
            if self.text[i : i + 1] == close:
                node.end = i + 1
                return
            i = self.expect(i, ",")


def _parse(text: str) -> _Node:
    scanner = _Scanner(text)
    try:
        root = scanner.value(0)
        if scanner.skip(root.end) != len(text):
            raise json.JSONDecodeError("extra data", text, scanner.skip(root.end))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ValidationError("JSON nested too deeply to chunk") from None
    return root


def _step(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENTIFIER.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_pieces(text: str, size: int) -> list[JSONPiece]:
    """The chunks of a JSON text, in document order."""
    out: list[JSONPiece] = []
    _walk(_parse(text), "$", size, out)
    return out


def _walk(node: _Node, path: str, size: int, out: list[JSONPiece]) -> None:
    if node.members is None or node.end - node.start <= size:
        out.append(JSONPiece(_compact(node.value), node.start, node.end, path))
        return
    group: list[tuple[str | int, _Node, int]] = []
    for member in node.members:
        key, child, begin = member
        if child.members is not None and child.end - begin > size:
            _flush(node, group, path, out)
            group = []
            _walk(child, _step(path, key), size, out)
            continue
        if group and child.end - group[0][2] > size:
            _flush(node, group, path, out)
            group = []
        group.append(member)
    _flush(node, group, path, out)


def _flush(
    parent: _Node, group: list[tuple[str | int, _Node, int]], path: str, out: list[JSONPiece]
) -> None:
    if not group:
        return
    value: Any = (
        {key: child.value for key, child, _ in group}
        if parent.object
        else [child.value for _, child, _ in group]
    )
    out.append(JSONPiece(_compact(value), group[0][2], group[-1][1].end, path))
