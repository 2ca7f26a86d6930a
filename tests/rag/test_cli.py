"""``mastra ingest`` / ``mastra query`` as the lead wires them: subcommands of the mastra
parser, errors printed by its main loop."""

import argparse

import orjson
import pytest

from mastra.commands.rag import add_commands
from mastra.errors import MastraError
from tests.rag.corpus import write_corpus


def run(argv):
    parser = argparse.ArgumentParser(prog="mastra")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_ingest_then_query(tmp_path, capsys):
    folder = tmp_path / "docs"
    write_corpus(folder, 8)
    (folder / "skip.md").write_text("# not taken: glob is *.txt")
    db = f"sqlite:///{tmp_path / 'rag.db'}"
    assert (
        run(
            [
                "ingest",
                str(folder),
                "--index",
                "kb",
                "--db",
                db,
                "--chunk-size",
                "500",
                "--overlap",
                "50",
                "--glob",
                "*.txt",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("8 documents written") and "0 skipped" in out
    assert (
        run(
            [
                "ingest",
                str(folder),
                "--index",
                "kb",
                "--db",
                db,
                "--chunk-size",
                "500",
                "--overlap",
                "50",
                "--glob",
                "*.txt",
            ]
        )
        == 0
    )
    assert "8 unchanged" in capsys.readouterr().out

    assert (
        run(["query", "assert statement", "--index", "kb", "--db", db, "--top-k", "3", "--json"])
        == 0
    )
    hits = orjson.loads(capsys.readouterr().out)
    assert len(hits) == 3
    assert any(h["metadata"]["source"].endswith("assert.txt") for h in hits)
    assert (
        run(
            [
                "query",
                "assert statement",
                "--index",
                "kb",
                "--db",
                db,
                "--filter",
                '{"source": {"$ne": "x"}}',
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("1. ")


def test_errors_are_mastra_errors(tmp_path):
    db = f"sqlite:///{tmp_path / 'rag.db'}"
    with pytest.raises(MastraError, match="--filter is not valid JSON"):
        run(["query", "x", "--index", "kb", "--db", db, "--filter", "{nope"])
    with pytest.raises(MastraError, match="overlap"):
        run(
            [
                "ingest",
                str(tmp_path),
                "--index",
                "kb",
                "--db",
                db,
                "--chunk-size",
                "10",
                "--overlap",
                "10",
            ]
        )
    with pytest.raises(MastraError, match="unknown vector index"):
        run(["query", "x", "--index", "missing", "--db", db])
