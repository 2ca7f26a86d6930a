"""The compiled recursive splitter (native/_chunk.pyx and its separator scan) against the
Python implementation in mastra.rag.recursive (the same rules, on str.find) and against
LangChain's splitter, on texts of every str width, separators at the edges, size 1 ..."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_text_splitters import RecursiveCharacterTextSplitter

from mastra._native import _chunk
from mastra.errors import ValidationError
from mastra.rag import Chunk, Document, RecursiveChunker
from mastra.rag.recursive import _pieces, recursive_spans

# Characters of all three str widths (1, 2 and 4 bytes), the default separators and Unicode
# whitespace (stripped like str.strip does).
CHARS = st.sampled_from(
    ["\n", "\n", " ", "a", "b", "é", "ÿ", "ж", "\u3000", "\u2029", "😀", "\U0001d538", "\t", "."]
)
RUNS = st.sampled_from(["\n\n", "ab", "😀😀", "ж\n", "x" * 40, " word", "é" * 33])
# Long enough to cross the scanner's 32-character blocks several times.
TEXT = st.lists(st.one_of(CHARS, RUNS), max_size=60).map("".join)
SEPARATOR = st.sampled_from(
    ["\n\n", "\n", " ", ".", "ab", "é", "ж\n", "😀", "😀😀", "\u3000", "xx"]
)
SEPARATORS = st.lists(st.one_of(SEPARATOR, st.just("")), min_size=1, max_size=4)


def python_spans(text, size, overlap, separators):
    """The Python implementation (a length function makes recursive_spans take it)."""
    return recursive_spans(text, size, overlap, separators, length=len)


@settings(max_examples=150, deadline=None)
@given(TEXT, SEPARATOR, st.data())
def test_separator_scan_cuts_where_str_find_does(text, separator, data):
    # Separators drawn from the text itself too, so that matches sit at the edges as well.
    if text and data.draw(st.booleans()):
        a = data.draw(st.integers(0, len(text) - 1))
        separator = text[a : a + data.draw(st.integers(1, 3))]
    # size 1: every piece is too long and there is no next separator, so the spans are
    # exactly the pieces, cut before each occurrence.
    assert _chunk.recursive_spans(text, 1, 0, [separator]) == _pieces(text, 0, len(text), separator)


@settings(max_examples=150, deadline=None)
@given(TEXT, st.integers(1, 80), st.data(), SEPARATORS)
def test_native_spans_equal_the_python_implementation(text, size, data, separators):
    overlap = data.draw(st.integers(0, size - 1))
    native = _chunk.recursive_spans(text, size, overlap, separators)
    assert native == python_spans(text, size, overlap, separators)


@settings(max_examples=100, deadline=None)
@given(TEXT, st.integers(1, 40), st.data(), SEPARATORS)
def test_chunks_equal_langchain_on_wide_unicode_text(text, size, data, separators):
    overlap = data.draw(st.integers(0, size - 1))
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=overlap, separators=separators
    )
    chunks = RecursiveChunker(size, overlap, separators).chunk(Document(text or "-"))
    assert [c.text for c in chunks] == splitter.split_text(text or "-")


@pytest.mark.parametrize(
    "text",
    [
        "\n\nstarts with a separator",
        "ends with a separator\n\n",
        "\n\n",
        "\n\n\n\n\n",
        " ",
        "😀",
        "😀\n\n😀",
        "x",
    ],
)
@pytest.mark.parametrize("size,overlap", [(1, 0), (2, 1), (5, 0), (1000, 200)])
def test_edges_and_size_one_equal_langchain(text, size, overlap):
    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
    chunks = RecursiveChunker(size, overlap).chunk(Document(text))
    assert [c.text for c in chunks] == splitter.split_text(text)
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_empty_and_blank_texts_have_no_chunks():
    for text in ["", "   ", "\n\n\n", "\u3000\t"]:
        assert RecursiveChunker(10, 2).chunk(Document(text, id="d")) == []
        assert _chunk.recursive_spans(text, 10, 2, ["\n\n", ""]) == []


@pytest.mark.parametrize("size,overlap", [(5, 5), (5, 6), (1, 1), (0, 0)])
def test_overlap_not_below_size_is_refused(size, overlap):
    with pytest.raises(ValidationError, match=r"overlap|size"):
        RecursiveChunker(size, overlap)
    with pytest.raises(ValueError, match="size > overlap"):
        _chunk.recursive_spans("some text", size, overlap, ["\n"])
    with pytest.raises(ValueError, match="size > overlap"):
        _chunk.recursive_chunks("some text", size, overlap, ["\n"], {}, Chunk)


def test_kernel_checks_its_separators():
    with pytest.raises(ValueError, match="separators"):
        _chunk.recursive_spans("text", 10, 0, [])
    with pytest.raises(TypeError, match="separators must be str"):
        _chunk.recursive_spans("text", 10, 0, ["\n", 3])


def test_chunk_metadata_keeps_its_key_order_and_is_one_dict_per_chunk():
    meta = {"lang": "en", "start": "document's own", "source": "/a/b.md"}
    doc = Document("alpha beta gamma delta " * 20, meta, id="d1")
    chunks = RecursiveChunker(50, 10).chunk(doc)
    for position, chunk in enumerate(chunks):
        # the document's keys first (its "start" and "source" overwritten in place), then ours
        assert list(chunk.metadata.items()) == [
            ("lang", "en"),
            ("start", chunk.start),
            ("source", "/a/b.md"),
            ("document_id", "d1"),
            ("position", position),
            ("end", chunk.end),
        ]
    chunks[0].metadata["lang"] = "changed"
    assert chunks[1].metadata["lang"] == "en" and doc.metadata["lang"] == "en"


def test_chunks_at_refuses_spans_outside_the_text():
    with pytest.raises(ValueError, match="not within a text of 4 characters"):
        _chunk.chunks_at("abcd", [(0, 2), (3, 5)], {}, Chunk)
    with pytest.raises(ValueError, match="not within"):
        _chunk.chunks_at("abcd", [(3, 2)], {}, Chunk)
