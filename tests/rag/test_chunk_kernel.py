"""The compiled recursive splitter (native/_chunk.pyx and its separator scan) against the
Python implementation in mastra.rag.recursive (the same rules, on str.find) and against
LangChain's splitter, on texts of every str width, separators at the edges, size 1 ..."""

import contextlib
import pickle
import threading

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


# -- the separator scan's variants, long texts, the reusable Splitter, split_text -------------

LEVELS = ["scalar"] + (["avx2"] if _chunk.scan_level() == "avx2" else [])
# Texts past the AVX2 scan's blocks (64 words of 64 characters) and the first room for cuts
# (one per 32 characters): a drawn text repeated, so that dense separators fill the room.
LONG_TEXT = st.tuples(TEXT, st.integers(1, 200)).map(lambda t: t[0] * t[1])


@contextlib.contextmanager
def at_level(level):
    """The separator scan of ``level`` in use for a while (its names are SIMD level names)."""
    before = _chunk.set_scan_level(level)
    try:
        yield
    finally:
        _chunk.set_scan_level(before)


@pytest.fixture(params=LEVELS)
def scan_level(request):
    with at_level(request.param):
        yield request.param


def test_scan_levels_are_named_and_checked():
    assert _chunk.scan_level() in ("scalar", "avx2")
    with pytest.raises(ValueError, match="'sse9' is unknown"):
        _chunk.set_scan_level("sse9")


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=60, deadline=None)
@given(text=LONG_TEXT, size=st.integers(1, 300), data=st.data(), separators=SEPARATORS)
def test_every_scan_level_splits_long_texts_like_the_python_implementation(
    level, text, size, data, separators
):
    overlap = data.draw(st.integers(0, size - 1))
    expected = python_spans(text, size, overlap, separators)
    splitter = _chunk.Splitter(size, overlap, separators)
    with at_level(level):
        assert splitter.spans(text) == expected
        assert splitter.texts(text) == [text[a:b] for a, b in expected]


@pytest.mark.parametrize(
    "text",
    [
        "a " * 5000,  # a separator every other character: the cut list grows several times
        "\n" * 7001,  # a doubled separator overlapping itself everywhere
        "é\n" * 3000 + "x",
        "😀 " * 3000,
        "\n\n\n" * 999 + "ab" * 4000,
        # "\n\n\n" at every place in the scan's 64-character words: its two overlapping
        # "\n\n" candidates across a word boundary, the second one not an occurrence
        "".join("a" * k + "\n\n\n" for k in range(1, 300)),
        ("word\n" * 30 + "\n") * 3000,  # past the GIL-free scan's length (65536)
    ],
)
@pytest.mark.parametrize(
    "separators",
    [[" "], ["\n\n"], ["\n\n", "\n", " ", ""], ["ab", "b"], ["\n\n\n", "\n"], ["xyzx"]],
)
def test_dense_and_long_texts_at_every_scan_level(scan_level, text, separators):
    for size, overlap in [(1, 0), (7, 3), (1000, 200)]:
        native = _chunk.recursive_spans(text, size, overlap, separators)
        assert native == python_spans(text, size, overlap, separators)


@settings(max_examples=60, deadline=None)
@given(TEXT, st.integers(1, 40), st.data(), SEPARATORS)
def test_split_text_equals_langchain(text, size, data, separators):
    overlap = data.draw(st.integers(0, size - 1))
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=overlap, separators=separators
    )
    assert RecursiveChunker(size, overlap, separators).split_text(text) == splitter.split_text(text)


def test_split_text_copies_are_as_narrow_as_their_characters():
    # chunks of a two-byte text that hold only ASCII (or Latin-1) characters must be the same
    # strs as Python's slices (equal, and of the same width, which equality relies on)
    text = "plain words\n\n" * 50 + "ж" + "\n\ncafé au lait " * 50 + "\n\n😀 end"
    for chunker in (RecursiveChunker(60, 10), RecursiveChunker(7, 0)):
        texts = chunker.split_text(text)
        assert texts == [text[a:b] for a, b in chunker.spans(text)]
        assert {t.isascii() for t in texts} == {True, False}
        assert {max(t) for t in texts if not t.isascii()} >= {"é", "😀"}


def test_split_text_refuses_what_is_not_a_str():
    with pytest.raises(ValidationError, match="split_text\\(\\) takes a str, got bytes"):
        RecursiveChunker(10, 2).split_text(b"bytes")


def test_a_splitter_reused_gives_each_text_its_own_chunks():
    splitter = _chunk.Splitter(30, 5, ["\n\n", "\n", " ", ""])
    texts = ["long " * 400, "short", "", "\n\n".join("para " * 9 for _ in range(30))]
    for text in texts * 2:
        assert splitter.spans(text) == python_spans(text, 30, 5, ["\n\n", "\n", " ", ""])


def test_a_splitter_shared_by_threads_keeps_their_texts_apart():
    chunker = RecursiveChunker(100, 20)
    texts = [f"thread {i} " * 20_000 for i in range(4)]  # long: the scan runs without the GIL
    expected = [chunker.split_text(text) for text in texts]
    results: dict[int, bool] = {}

    def run(i):
        results[i] = all(chunker.split_text(texts[i]) == expected[i] for _ in range(5))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: True, 1: True, 2: True, 3: True}


def test_a_recursive_chunker_survives_pickling():
    chunker = pickle.loads(pickle.dumps(RecursiveChunker(50, 5, ["\n", " "])))
    assert chunker.split_text("one two three " * 20) == RecursiveChunker(
        50, 5, ["\n", " "]
    ).split_text("one two three " * 20)
