"""The recursive split on character offsets: the same chunks as LangChain's
``RecursiveCharacterTextSplitter`` (separators kept at the start of the piece they open,
whitespace stripped), computed as ``(start, end)`` spans of the text instead of copied
strings. The compiled kernel (``mastra._native._chunk``) does the character-length case;
this module holds the general case (any length function) and the entry point."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mastra._native import _chunk

__all__ = ["Length", "recursive_spans"]

Length = Callable[[str], int]
Span = tuple[int, int]


def recursive_spans(
    text: str, size: int, overlap: int, separators: Sequence[str], length: Length | None = None
) -> list[Span]:
    """Chunk spans of ``text``; ``length=None`` counts characters (the compiled path)."""
    if length is None:
        return _chunk.recursive_spans(text, size, overlap, list(separators))
    out: list[Span] = []
    _Splitter(text, size, overlap, length, out).split(0, len(text), list(separators))
    return out


class _Splitter:
    """One text's recursive split with a length function (tokens, say)."""

    def __init__(self, text: str, size: int, overlap: int, length: Length, out: list[Span]):
        self.text, self.size, self.overlap, self.length, self.out = text, size, overlap, length, out

    def split(self, a: int, b: int, separators: list[str]) -> None:
        separator, rest = _choose(self.text, a, b, separators)
        good: list[Span] = []
        for piece in _pieces(self.text, a, b, separator):
            if self.length(self.text[piece[0] : piece[1]]) < self.size:
                good.append(piece)
                continue
            if good:
                self.merge(good)
                good = []
            if rest:
                self.split(piece[0], piece[1], rest)
            else:
                self.out.append(piece)  # too long and nothing left to split by: as it is
        if good:
            self.merge(good)

    def merge(self, pieces: list[Span]) -> None:
        """Pack consecutive pieces up to ``size``, carrying up to ``overlap`` over."""
        lengths = [self.length(self.text[x:y]) for x, y in pieces]
        first, total = 0, 0
        for i, n in enumerate(lengths):
            if total + n > self.size and i > first:
                self.emit(pieces[first][0], pieces[i - 1][1])
                while total > self.overlap or (total + n > self.size and total > 0):
                    total -= lengths[first]
                    first += 1
            total += n
        if first < len(pieces):
            self.emit(pieces[first][0], pieces[-1][1])

    def emit(self, a: int, b: int) -> None:
        text = self.text
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            self.out.append((a, b))


def _choose(text: str, a: int, b: int, separators: list[str]) -> tuple[str, list[str]]:
    """The first separator found in ``text[a:b]`` ("" always matches) and those after it."""
    for i, separator in enumerate(separators):
        if not separator:
            return separator, []
        if text.find(separator, a, b) != -1:
            return separator, separators[i + 1 :]
    return separators[-1], []


def _pieces(text: str, a: int, b: int, separator: str) -> list[Span]:
    """``text[a:b]`` cut before each occurrence of ``separator`` (each piece but the first
    starts with it); "" cuts between characters. Empty pieces are dropped."""
    if not separator:
        return [(i, i + 1) for i in range(a, b)]
    pieces: list[Span] = []
    start, at, step = a, text.find(separator, a, b), len(separator)
    while at != -1:
        if at > start:
            pieces.append((start, at))
        start = at
        at = text.find(separator, at + step, b)
    if b > start:
        pieces.append((start, b))
    return pieces
