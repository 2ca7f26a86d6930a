import json
import subprocess
import sys
from pathlib import Path

import pytest

import mastra
from mastra.cli import main


def test_import_is_lazy_about_heavy_modules():
    code = (
        "import sys, mastra; heavy = {'numpy', 'aiohttp', 'msgspec', 'orjson', 'asyncio'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve_and_unknown_names_fail():
    for name in mastra.__all__:
        assert getattr(mastra, name) is not None
    assert set(mastra.__all__) <= set(dir(mastra))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mastra.Nope


def test_package_is_typed():
    assert (Path(mastra.__file__).parent / "py.typed").exists()
    assert (Path(mastra.__file__).parent / "_native" / "_cpu.pyi").exists()


def test_cli_info_text_and_json(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert mastra.__version__ in text and "simd_level" in text
    assert main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == mastra.__version__


def test_cli_reports_mastra_errors_without_traceback(monkeypatch, capsys):
    monkeypatch.setenv("MASTRA_SIMD", "bogus")
    assert main(["info"]) == 2
    assert "mastra: error: MASTRA_SIMD='bogus'" in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run(
        [sys.executable, "-m", "mastra.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"mastra {mastra.__version__}"


def test_no_file_keeps_merge_conflict_markers():
    """A merge resolved in one file but committed with markers in another is caught here."""
    root = Path(__file__).resolve().parent.parent
    skipped = {".git", "build", ".venv", "node_modules", "__pycache__", ".hypothesis"}
    marked = []
    for path in root.rglob("*"):
        if not path.is_file() or skipped.intersection(path.relative_to(root).parts):
            continue
        if (
            path.suffix
            not in {
                ".py",
                ".md",
                ".toml",
                ".pyx",
                ".h",
                ".c",
                ".txt",
                ".js",
                ".css",
                ".html",
                ".yml",
                ".cfg",
                ".ini",
            }
            and path.name != "run"
        ):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")):
                marked.append(f"{path.relative_to(root)}:{number}")
    assert not marked, marked
