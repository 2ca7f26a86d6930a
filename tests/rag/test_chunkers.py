"""Chunkers: the recursive one against LangChain's splitter (the oracle), offsets and
metadata of every chunker, and argument checks."""

import json
import pydoc_data.topics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_text_splitters import RecursiveCharacterTextSplitter

from mastra.errors import MastraError, ValidationError
from mastra.rag import (
    Document,
    HashingEmbedder,
    JSONChunker,
    MarkdownChunker,
    RecursiveChunker,
    SemanticChunker,
    SentenceChunker,
    TokenChunker,
)
from mastra.rag.tokens import WordTokenizer

TOPICS = pydoc_data.topics.topics
REAL_TEXT = "\n\n".join(TOPICS[k] for k in sorted(TOPICS)[:60])


def langchain(text, size, overlap, separators=None, length=len):
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=overlap, separators=separators, length_function=length
    )
    return splitter.split_text(text)


def ours(text, size, overlap, separators=None, **kw):
    chunks = RecursiveChunker(size, overlap, separators, **kw).chunk(Document(text))
    for c in chunks:
        assert text[c.start : c.end] == c.text
    return [c.text for c in chunks]


# Text built from the characters the splitter cares about: separators, Unicode whitespace
# (stripped by str.strip), letters of 1-, 2- and 4-byte kinds.
CHARS = st.sampled_from(["\n", "\n", " ", " ", "\t", "\u3000", "a", "b", "c", "é", "ж", "😀", "."])
TEXT = st.lists(
    st.one_of(CHARS, st.sampled_from(["\n\n", "word ", "longer words here ", "x" * 30])),
    max_size=120,
).map("".join)
SEPARATORS = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["\n\n", "\n", " ", ".", "", "ab", "é"]), min_size=1, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(1, 60), st.data(), SEPARATORS)
def test_recursive_chunks_equal_langchain_on_generated_text(text, size, data, separators):
    overlap = data.draw(st.integers(0, size - 1))
    assert ours(text, size, overlap, separators) == langchain(text, size, overlap, separators)


@pytest.mark.parametrize("size,overlap", [(1000, 200), (300, 50), (64, 0), (7, 3)])
def test_recursive_chunks_equal_langchain_on_real_text(size, overlap):
    text = REAL_TEXT if size > 10 else REAL_TEXT[:20_000]
    assert ours(text, size, overlap) == langchain(text, size, overlap)


def test_recursive_chunks_equal_langchain_on_python_source():
    import inspect

    import mastra.rag.chunkers as module

    text = inspect.getsource(module)
    separators = ["\nclass ", "\ndef ", "\n\n", "\n", " ", ""]
    assert ours(text, 400, 80, separators) == langchain(text, 400, 80, separators)


@settings(max_examples=100, deadline=None)
@given(TEXT, st.integers(2, 20), st.data())
def test_token_length_equals_langchain_with_the_same_length_function(text, size, data):
    overlap = data.draw(st.integers(0, size - 1))
    count = WordTokenizer().count
    expected = langchain(text, size, overlap, length=count)
    assert ours(text, size, overlap, length="tokens", encoding="words") == expected


def test_chunks_carry_origin_offsets_and_document_metadata():
    doc = Document("alpha beta gamma delta " * 20, {"lang": "en"}, id="d1")
    chunks = RecursiveChunker(50, 10).chunk(doc)
    assert len(chunks) > 3
    for position, chunk in enumerate(chunks):
        assert chunk.metadata == {
            "lang": "en",
            "source": "d1",
            "document_id": "d1",
            "position": position,
            "start": chunk.start,
            "end": chunk.end,
        }
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 50


@pytest.mark.parametrize(
    "make",
    [
        lambda s, o: RecursiveChunker(s, o),
        lambda s, o: TokenChunker(s, o, encoding="words"),
        lambda s, o: MarkdownChunker(s, o),
        lambda s, o: SentenceChunker(s, o),
    ],
)
@pytest.mark.parametrize("size,overlap", [(10, 10), (5, 9), (0, 0), (10, -1), (True, 0)])
def test_bad_size_or_overlap_is_a_validation_error(make, size, overlap):
    with pytest.raises(ValidationError, match=r"size|overlap"):
        make(size, overlap)


def test_other_bad_arguments_are_validation_errors():
    with pytest.raises(ValidationError, match="separators"):
        RecursiveChunker(10, 0, separators=[])
    with pytest.raises(ValidationError, match="length"):
        RecursiveChunker(10, 0, length="bytes")
    with pytest.raises(ValidationError, match="Document"):
        RecursiveChunker(10, 0).chunk("plain text")
    with pytest.raises(ValidationError, match="Embedder"):
        SemanticChunker(object())
    with pytest.raises(ValidationError, match="encoding"):
        TokenChunker(10, 0, encoding=42)


def _tiny_tiktoken():
    """A real tiktoken Encoding built here (byte-level ranks plus a few merges): no download."""
    import tiktoken

    ranks = {bytes([i]): i for i in range(256)}
    for merge in [b"th", b"he", b"the", b" t", b" the", b"in", b"ing"]:
        ranks[merge] = len(ranks)
    return tiktoken.Encoding(
        "tiny", pat_str=r"""\s?\w+|\s?[^\w\s]+|\s+""", mergeable_ranks=ranks, special_tokens={}
    )


def test_token_chunker_windows_with_a_tiktoken_encoding():
    encoding = _tiny_tiktoken()
    text = "the thing in the ring is singing — ünïcode too. " * 10
    chunker = TokenChunker(16, 4, encoding=encoding)
    chunks = chunker.chunk(Document(text))
    assert len(chunks) > 5
    _, starts = encoding.decode_with_offsets(encoding.encode(text))
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        inside = [s for s in starts if chunk.start <= s < chunk.end]
        assert 10 <= len(set(inside)) <= 16  # tokens of the document (a split character once)
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
    covered = {i for c in chunks for i in range(c.start, c.end)}
    assert covered >= {i for i, ch in enumerate(text.rstrip()) if not ch.isspace()}


def test_token_chunker_words_overlap():
    text = " ".join(f"w{i}" for i in range(25))
    chunks = TokenChunker(10, 3, encoding="words").chunk(Document(text))
    words = [c.text.split() for c in chunks]
    assert words[0] == [f"w{i}" for i in range(10)]
    assert words[1][:3] == ["w7", "w8", "w9"]
    assert words[-1][-1] == "w24"


def test_markdown_chunks_carry_the_header_path_and_ignore_headers_in_code():
    text = (
        "Intro line.\n\n# Guide\n\nWelcome.\n\n## Install\n\n```sh\n# not a header\npip x\n```\n\n"
        "### Linux\n\nUse apt.\n\n## Use\n\nRun it.\n"
    )
    chunks = MarkdownChunker(200, 0).chunk(Document(text))
    by_text = {c.text.split("\n")[0]: c.metadata["headers"] for c in chunks}
    assert by_text == {
        "Intro line.": [],
        "# Guide": ["Guide"],
        "## Install": ["Guide", "Install"],
        "### Linux": ["Guide", "Install", "Linux"],
        "## Use": ["Guide", "Use"],
    }
    for c in chunks:
        assert text[c.start : c.end] == c.text


def test_markdown_long_sections_are_split_within_size():
    text = "# Big\n\n" + "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(20))
    chunks = MarkdownChunker(300, 50).chunk(Document(text))
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 and c.metadata["headers"] == ["Big"] for c in chunks)


def test_sentence_chunker_keeps_sentences_whole_with_overlap():
    sentences = [f"Sentence number {i} is here." for i in range(12)]
    text = " ".join(sentences)
    chunks = SentenceChunker(100, 30).chunk(Document(text))
    for c in chunks:
        assert len(c.text) <= 100
        assert c.text.startswith("Sentence") and c.text.endswith(".")
    assert chunks[1].text.split(". ")[0] in chunks[0].text  # the overlap sentence
    assert chunks[-1].text.endswith(sentences[-1])


def test_sentence_chunker_splits_an_overlong_sentence():
    text = "Short one. " + "x" * 250 + " end."
    chunks = SentenceChunker(100, 0).chunk(Document(text))
    assert chunks[0].text == "Short one."
    assert all(len(c.text) <= 100 for c in chunks)


CATS = [f"Cats purr and cats nap, cat {i} purrs." for i in range(4)]
ROCKETS = [f"Rockets launch fuel into orbit, rocket {i} launches." for i in range(4)]


async def test_semantic_chunker_breaks_where_the_topic_changes():
    chunker = SemanticChunker(HashingEmbedder(512), size=2000, threshold=0.3)
    chunks = await chunker.achunk(Document(" ".join(CATS + ROCKETS)))
    assert [c.text for c in chunks] == [" ".join(CATS), " ".join(ROCKETS)]
    with pytest.raises(MastraError, match="achunk"):
        chunker.chunk(Document("One. Two."))  # would block this loop


def test_semantic_chunker_sync_and_percentile_default():
    text = " ".join(CATS + ROCKETS)
    chunks = SemanticChunker(HashingEmbedder(512), size=2000, percentile=5).chunk(Document(text))
    assert [c.text for c in chunks] == [" ".join(CATS), " ".join(ROCKETS)]


def test_json_chunker_groups_members_with_paths_and_spans():
    value = {
        "name": "demo",
        "items": [{"id": i, "text": "x" * 20} for i in range(6)],
        "config": {"deep": {"a": 1, "b": [1, 2, 3]}},
    }
    text = json.dumps(value, indent=2)
    chunks = JSONChunker(120).chunk(Document(text))
    paths = [c.metadata["json_path"] for c in chunks]
    assert "$.items" in paths and "$" in paths
    rebuilt_items = []
    for c in chunks:
        part = json.loads(c.text)  # every chunk is valid JSON, found at its span
        source = text[c.start : c.end]
        for key in part if isinstance(part, dict) else []:
            assert f'"{key}"' in source
        if c.metadata["json_path"] == "$.items":
            rebuilt_items += part
    assert rebuilt_items == value["items"]
    with pytest.raises(ValidationError, match="not valid JSON"):
        JSONChunker(100).chunk(Document('{"a": 1,}'))
