"""Loaders: files to :class:`Document` s, by suffix (text, Markdown, HTML, JSON, CSV, PDF), and
a directory walk with globs. A file that cannot be read, or is binary, becomes a
:class:`Skipped` with the reason instead of an exception; undecodable bytes become U+FFFD and
are counted."""

from __future__ import annotations

import codecs
import csv
import io
import os
import threading
from collections.abc import Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import msgspec

from mastra.errors import ValidationError
from mastra.rag.documents import Document

__all__ = ["Loaded", "Skipped", "load_file", "walk_files"]

_SNIFF = 8192
_counts = threading.local()


def _count_replacement(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _counts.value = getattr(_counts, "value", 0) + 1
    return "\ufffd", exc.end


codecs.register_error("mastra.rag.count", _count_replacement)


class Skipped(msgspec.Struct, frozen=True):
    """A source left out of an ingest, and why."""

    source: str
    reason: str


class Loaded(msgspec.Struct, frozen=True):
    """A loaded file: the document and how many undecodable byte runs were replaced."""

    document: Document
    replaced: int = 0


def decode(data: bytes) -> tuple[str, int]:
    """UTF-8 (a BOM dropped); undecodable bytes replaced by U+FFFD, and how many."""
    _counts.value = 0
    text = data.decode("utf-8-sig", errors="mastra.rag.count")
    return text, int(_counts.value)


class _HTMLText(HTMLParser):
    """Visible text of an HTML page: block elements break lines, script/style are dropped."""

    _BLOCKS = frozenset(
        {
            "address",
            "article",
            "aside",
            "blockquote",
            "br",
            "dd",
            "div",
            "dl",
            "dt",
            "figcaption",
            "footer",
            "form",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "li",
            "main",
            "nav",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "td",
            "th",
            "tr",
            "ul",
        }
    )
    _HIDDEN = frozenset({"script", "style", "noscript", "template", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._HIDDEN:
            self._hidden += 1
        if tag in self._BLOCKS:
            self.parts.append("\n\n" if tag in ("p", "div", "section", "article") else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip()


def _html(text: str, meta: dict[str, Any]) -> str:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    title = " ".join("".join(parser.title).split())
    if title:
        meta["title"] = title
    return parser.text()


def _csv(text: str, meta: dict[str, Any]) -> str:
    """Each row as ``column: value`` lines, rows apart by a blank line."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        return ""
    meta["columns"] = header
    records = []
    for row in rows:
        cells = [f"{name}: {value}" for name, value in zip(header, row, strict=False) if value]
        if cells:
            records.append("\n".join(cells))
    return "\n\n".join(records)


def _pdf(path: Path, meta: dict[str, Any]) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise ValidationError("PDF needs pypdf: pip install 'mastra[pdf]'") from None
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many kinds for damaged files
        raise ValidationError(f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    meta["pages"] = len(pages)
    return "\n\n".join(p.strip() for p in pages)


_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "json",
    ".csv": "csv",
    ".pdf": "pdf",
}


def load_file(path: str | os.PathLike[str]) -> Loaded | Skipped:
    """The file as a Document (id and ``source``: the absolute path; ``format`` in the
    metadata), or why it was skipped: unreadable, binary, or a PDF without pypdf."""
    file = Path(path).absolute()
    source = str(file)
    kind = _FORMATS.get(file.suffix.lower(), "text")
    meta: dict[str, Any] = {"source": source, "format": kind}
    try:
        if kind == "pdf":
            return Loaded(Document(_pdf(file, meta), meta, source))
        data = file.read_bytes()
    except OSError as exc:
        return Skipped(source, f"unreadable: {exc.strerror or exc}")
    except ValidationError as exc:
        return Skipped(source, str(exc))
    if b"\x00" in data[:_SNIFF]:
        return Skipped(source, "binary file (NUL bytes)")
    text, replaced = decode(data)
    if kind == "html":
        text = _html(text, meta)
    elif kind == "csv":
        text = _csv(text, meta)
    return Loaded(Document(text, meta, source), replaced)


def walk_files(root: Path, globs: Sequence[str]) -> Iterator[Path]:
    """Files under ``root`` matching any glob (relative to root, ``**`` for any depth), in
    sorted order, once each; files under hidden folders (``.git`` ...) are left out."""
    seen: set[Path] = set()
    for pattern in globs:
        for path in root.glob(pattern):
            relative = path.relative_to(root).parts
            if any(part.startswith(".") for part in relative[:-1]) or path in seen:
                continue
            if path.is_file():
                seen.add(path)
    yield from sorted(seen)
