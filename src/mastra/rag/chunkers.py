"""Chunkers: a document in, its chunks out, each with its character offsets and origin.

Every chunker has ``chunk(document) -> list[Chunk]`` and ``await achunk(document)`` (the same;
:class:`SemanticChunker` embeds, so its ``achunk`` is the one to use inside a loop), and a
``fingerprint`` that changes when its settings do (ingest re-chunks documents then).
"""

from __future__ import annotations

import itertools
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from mastra._native import _chunk
from mastra.errors import ValidationError
from mastra.loops import run_sync
from mastra.rag.documents import Chunk, Document
from mastra.rag.embedders import Embedder
from mastra.rag.jsonspans import json_pieces
from mastra.rag.recursive import recursive_spans
from mastra.rag.tokens import Tokenizer, get_tokenizer

__all__ = [
    "Chunker",
    "JSONChunker",
    "MarkdownChunker",
    "RecursiveChunker",
    "SemanticChunker",
    "SentenceChunker",
    "TokenChunker",
]

Span = tuple[int, int]
DEFAULT_SEPARATORS = ("\n\n", "\n", " ", "")


def check_size(owner: str, size: object, overlap: object) -> tuple[int, int]:
    """``size`` a positive int, ``overlap`` an int from 0 to size - 1."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValidationError(f"{owner} size must be a positive integer, got {size!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise ValidationError(f"{owner} overlap must be an integer >= 0, got {overlap!r}")
    if overlap >= size:
        raise ValidationError(
            f"{owner} overlap ({overlap}) must be smaller than size ({size}); "
            "each chunk has to move past the one before"
        )
    return size, overlap


def chunk_template(document: Document) -> dict[str, Any]:
    """The metadata each chunk of ``document`` starts from: the document's own, its origin,
    and the per-chunk keys (``position``, ``start``, ``end``) already in their places."""
    return {
        **(document.metadata or {}),
        "source": document.source,
        "document_id": document.id,
        "position": 0,
        "start": 0,
        "end": 0,
    }


def make_chunks(
    document: Document, spans: list[Span], extras: Sequence[dict[str, Any]] | None = None
) -> list[Chunk]:
    """Chunks of ``document`` at ``spans`` (text copied from the document), each with the
    document's metadata, its origin and offsets, and ``extras[i]`` when given."""
    chunks = _chunk.chunks_at(document.text, spans, chunk_template(document), Chunk)
    if extras is not None:
        for chunk, extra in zip(chunks, extras, strict=True):
            chunk.metadata.update(extra)
    return chunks


def strip_span(text: str, a: int, b: int) -> Span | None:
    """``(a, b)`` without leading and trailing whitespace; None when nothing is left."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return (a, b) if a < b else None


def _check_document(document: object) -> Document:
    if not isinstance(document, Document):
        raise ValidationError(f"chunk() takes a Document, got {type(document).__name__}")
    return document


class Chunker(ABC):
    """The chunker protocol; subclasses implement :meth:`spans` (or override :meth:`chunk`)."""

    def chunk(self, document: Document) -> list[Chunk]:
        document = _check_document(document)
        return make_chunks(document, self.spans(document.text))

    async def achunk(self, document: Document) -> list[Chunk]:
        return self.chunk(document)

    @abstractmethod
    def spans(self, text: str) -> list[Span]:
        """The ``(start, end)`` offsets of each chunk of ``text``."""

    @property
    def fingerprint(self) -> str:
        """Its settings, as text: a changed fingerprint makes ingest re-chunk every document."""
        return repr(self)


class RecursiveChunker(Chunker):
    """Split on the first separator that occurs, merge the pieces up to ``size`` with up to
    ``overlap`` carried over, and split pieces that are still too long by the next separator:
    LangChain's ``RecursiveCharacterTextSplitter`` rules (same chunks for the same settings),
    with the character-length case compiled.

    Args:
        size: the largest chunk, in characters (or tokens with ``length="tokens"``).
        overlap: how much of the end of a chunk the next one repeats (< size).
        separators: tried in order (default paragraphs, lines, spaces, characters).
        length: ``"chars"`` or ``"tokens"`` (counted by ``encoding``, see TokenChunker).
    """

    def __init__(
        self,
        size: int = 1000,
        overlap: int = 200,
        separators: Sequence[str] | None = None,
        *,
        length: Literal["chars", "tokens"] = "chars",
        encoding: Any = "cl100k_base",
    ) -> None:
        self.size, self.overlap = check_size("RecursiveChunker", size, overlap)
        seps = list(DEFAULT_SEPARATORS if separators is None else separators)
        if not seps or not all(isinstance(s, str) for s in seps):
            raise ValidationError(
                f"separators must be a non-empty list of strings, got {separators!r}"
            )
        self.separators = seps
        if length not in ("chars", "tokens"):
            raise ValidationError(f"length must be 'chars' or 'tokens', got {length!r}")
        self.length = length
        self._tokenizer: Tokenizer | None = get_tokenizer(encoding) if length == "tokens" else None
        # characters: the compiled splitter, its separator table and buffers made once
        self._splitter = _chunk.Splitter(self.size, self.overlap, seps)

    def chunk(self, document: Document) -> list[Chunk]:
        if self._tokenizer is not None:
            return super().chunk(document)
        document = _check_document(document)  # characters: split and built in one native call
        return self._splitter.chunks(document.text, chunk_template(document), Chunk)

    def spans(self, text: str) -> list[Span]:
        tokenizer = self._tokenizer
        if tokenizer is None:
            return self._splitter.spans(text)
        return recursive_spans(text, self.size, self.overlap, self.separators, tokenizer.count)

    def split_text(self, text: str) -> list[str]:
        """The chunks' texts alone (LangChain's ``split_text``): no offsets, no metadata."""
        if not isinstance(text, str):
            raise ValidationError(f"split_text() takes a str, got {type(text).__name__}")
        if self._tokenizer is None:
            return self._splitter.texts(text)
        return [text[a:b] for a, b in self.spans(text)]

    def __repr__(self) -> str:
        tokens = "" if self._tokenizer is None else f", tokens={self._tokenizer.name!r}"
        return (
            f"RecursiveChunker(size={self.size}, overlap={self.overlap}, "
            f"separators={self.separators!r}{tokens})"
        )


class TokenChunker(Chunker):
    """Windows of ``size`` tokens, each starting ``size - overlap`` tokens after the last.
    ``encoding``: a tiktoken encoding name (tiktoken where installed, else words), a
    ``tiktoken.Encoding``, or ``"words"``."""

    def __init__(self, size: int = 512, overlap: int = 64, encoding: Any = "cl100k_base") -> None:
        self.size, self.overlap = check_size("TokenChunker", size, overlap)
        self.tokenizer = get_tokenizer(encoding)

    def spans(self, text: str) -> list[Span]:
        tokens = self.tokenizer.spans(text)
        out: list[Span] = []
        step = self.size - self.overlap
        for i in range(0, len(tokens), step):
            j = min(i + self.size, len(tokens))
            span = strip_span(text, tokens[i][0], tokens[j - 1][1])
            if span is not None:
                out.append(span)
            if j == len(tokens):
                break
        return out

    def __repr__(self) -> str:
        return (
            f"TokenChunker(size={self.size}, overlap={self.overlap}, "
            f"encoding={self.tokenizer.name!r})"
        )


_HEADER = re.compile(r"[ ]{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*\r?\n?")
_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")
_MARKDOWN_SEPARATORS = ("\n```", "\n\n", "\n", " ", "")


class _Section:
    __slots__ = ("body", "end", "headers", "start")

    def __init__(self, start: int, body: int, headers: list[str]) -> None:
        self.start, self.body, self.end, self.headers = start, body, start, headers


def markdown_sections(text: str) -> list[_Section]:
    """The text cut before each ATX header outside fenced code, with the header path."""
    sections = [_Section(0, 0, [])]
    path: list[tuple[int, str]] = []
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        marker = _FENCE.match(line)
        if marker is not None:
            token = marker.group(1)
            if fence is None:
                fence = token
            elif token[0] == fence[0] and len(token) >= len(fence):
                fence = None
            continue
        header = _HEADER.fullmatch(line) if fence is None else None
        if header is None:
            continue
        level = len(header.group(1))
        path = [(lv, title) for lv, title in path if lv < level]
        path.append((level, header.group(2).strip()))
        sections[-1].end = start
        sections.append(_Section(start, offset, [title for _, title in path]))
    sections[-1].end = len(text)
    return sections


class MarkdownChunker(Chunker):
    """Sections at ATX headers (``#`` ... ``######``, not inside fenced code); each chunk's
    metadata has ``headers``, the path of titles above it. A section longer than ``size`` is
    split recursively (fences, paragraphs, lines, words); header-only sections are dropped
    (their titles live on in the path of what follows)."""

    def __init__(self, size: int = 1000, overlap: int = 100) -> None:
        self.size, self.overlap = check_size("MarkdownChunker", size, overlap)

    def chunk(self, document: Document) -> list[Chunk]:
        document = _check_document(document)
        spans, extras = self._spans_with_headers(document.text)
        return make_chunks(document, spans, extras)

    def spans(self, text: str) -> list[Span]:
        return self._spans_with_headers(text)[0]

    def _spans_with_headers(self, text: str) -> tuple[list[Span], list[dict[str, Any]]]:
        spans: list[Span] = []
        extras: list[dict[str, Any]] = []
        for section in markdown_sections(text):
            if strip_span(text, section.body, section.end) is None:
                continue
            if section.end - section.start <= self.size:
                found = [strip_span(text, section.start, section.end)]
            else:
                inner = recursive_spans(
                    text[section.start : section.end],
                    self.size,
                    self.overlap,
                    _MARKDOWN_SEPARATORS,
                )
                found = [(section.start + a, section.start + b) for a, b in inner]
            for span in found:
                if span is not None:
                    spans.append(span)
                    extras.append({"headers": list(section.headers)})
        return spans, extras

    def __repr__(self) -> str:
        return f"MarkdownChunker(size={self.size}, overlap={self.overlap})"


_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)|\n[ \t]*\n")


def sentence_spans(text: str) -> list[Span]:
    """Sentences: text up to ``.``, ``!``, ``?`` or ``…`` (and closing quotes) before
    whitespace, or up to a blank line; whitespace around each is left out."""
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        span = strip_span(text, start, match.end())
        if span is not None:
            spans.append(span)
        start = match.end()
    span = strip_span(text, start, len(text))
    if span is not None:
        spans.append(span)
    return spans


def pack_sentences(text: str, sentences: list[Span], size: int, overlap: int) -> list[Span]:
    """Whole sentences packed into chunks of at most ``size`` characters, the next chunk
    starting with the last sentences of this one that fit in ``overlap``; a sentence longer
    than ``size`` is split recursively on its own."""
    out: list[Span] = []
    i, n = 0, len(sentences)
    while i < n:
        j = i
        while j < n and sentences[j][1] - sentences[i][0] <= size:
            j += 1
        if j == i:
            a, b = sentences[i]
            pieces = recursive_spans(text[a:b], size, overlap, DEFAULT_SEPARATORS)
            out.extend((a + x, a + y) for x, y in pieces)
            i += 1
            continue
        out.append((sentences[i][0], sentences[j - 1][1]))
        if j == n:
            break
        k = j
        while k - 1 > i and sentences[j - 1][1] - sentences[k - 1][0] <= overlap:
            k -= 1
        i = k
    return out


class SentenceChunker(Chunker):
    """Whole sentences up to ``size`` characters per chunk; ``overlap`` characters' worth of
    whole sentences repeat at the start of the next chunk."""

    def __init__(self, size: int = 1000, overlap: int = 0) -> None:
        self.size, self.overlap = check_size("SentenceChunker", size, overlap)

    def spans(self, text: str) -> list[Span]:
        return pack_sentences(text, sentence_spans(text), self.size, self.overlap)

    def __repr__(self) -> str:
        return f"SentenceChunker(size={self.size}, overlap={self.overlap})"


class SemanticChunker(Chunker):
    """Sentences grouped by meaning: a new chunk starts where the cosine similarity of two
    neighbouring sentences' embeddings drops below ``threshold`` — by default, below the
    ``percentile``-th percentile of the document's neighbour similarities. Groups longer than
    ``size`` characters are packed by sentence.

    ``achunk`` awaits the embedder; ``chunk`` runs it on a fresh event loop (outside a loop
    only)."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        size: int = 2000,
        percentile: float = 10.0,
        threshold: float | None = None,
    ) -> None:
        if not isinstance(embedder, Embedder):
            raise ValidationError(
                f"SemanticChunker needs an Embedder (dimension and async embed), "
                f"got {type(embedder).__name__}"
            )
        self.embedder = embedder
        self.size, _ = check_size("SemanticChunker", size, 0)
        if not 0.0 <= percentile <= 100.0:
            raise ValidationError(f"percentile must be within [0, 100], got {percentile!r}")
        if threshold is not None and not -1.0 <= threshold <= 1.0:
            raise ValidationError(f"threshold must be a cosine within [-1, 1], got {threshold!r}")
        self.percentile, self.threshold = float(percentile), threshold

    def chunk(self, document: Document) -> list[Chunk]:
        return run_sync(
            lambda: self.achunk(document),
            name="SemanticChunker.chunk",
            instead="await chunker.achunk(document)",
        )

    async def achunk(self, document: Document) -> list[Chunk]:
        document = _check_document(document)
        text = document.text
        sentences = sentence_spans(text)
        if len(sentences) < 2:
            return make_chunks(document, pack_sentences(text, sentences, self.size, 0))
        rows = await self.embedder.embed([text[a:b] for a, b in sentences])
        spans: list[Span] = []
        for lo, hi in self._groups(np.asarray(rows, dtype=np.float32)):
            spans += pack_sentences(text, sentences[lo:hi], self.size, 0)
        return make_chunks(document, spans)

    def _groups(self, rows: np.ndarray) -> list[Span]:
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        unit = rows / np.where(norms > 0, norms, 1.0)
        similarity = np.einsum("ij,ij->i", unit[:-1], unit[1:])
        cut = (
            self.threshold
            if self.threshold is not None
            else float(np.percentile(similarity, self.percentile))
        )
        breaks = [i + 1 for i, s in enumerate(similarity.tolist()) if s < cut]
        bounds = [0, *breaks, len(rows)]
        return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]

    def spans(self, text: str) -> list[Span]:
        return [(c.start, c.end) for c in self.chunk(Document(text))]

    def __repr__(self) -> str:
        return (
            f"SemanticChunker(embedder={type(self.embedder).__name__}"
            f"(dimension={self.embedder.dimension}), size={self.size}, "
            f"percentile={self.percentile}, threshold={self.threshold})"
        )


class JSONChunker(Chunker):
    """A JSON document cut along its structure: consecutive members of an object (or items of
    an array) are grouped while their source spans fit in ``size`` characters; a member too
    large alone is cut the same way inside. A chunk's text is the compact JSON of its group
    (an object keeps its keys), ``start``/``end`` the span it came from, and ``json_path``
    (``$.a.b[2]``) says where. Invalid JSON is a ValidationError (ingest skips the file)."""

    def __init__(self, size: int = 1000) -> None:
        self.size, _ = check_size("JSONChunker", size, 0)

    def chunk(self, document: Document) -> list[Chunk]:
        document = _check_document(document)
        pieces = json_pieces(document.text, self.size)
        chunks = make_chunks(
            document,
            [(p.start, p.end) for p in pieces],
            [{"json_path": p.path} for p in pieces],
        )
        for chunk, piece in zip(chunks, pieces, strict=True):
            chunk.text = piece.text
        return chunks

    def spans(self, text: str) -> list[Span]:
        return [(p.start, p.end) for p in json_pieces(text, self.size)]

    def __repr__(self) -> str:
        return f"JSONChunker(size={self.size})"
