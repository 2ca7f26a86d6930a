"""The ``[test]`` extra holds what the tests import: every third-party module a file under tests/
imports comes from a distribution that mastra's runtime dependencies or its ``[test]`` extra
name. The benchmark peers live in ``[bench]``, which a test run does not install."""

import ast
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

TESTS = Path(__file__).parent
LOCAL = {"mastra", "tests", "acme_mastra"}  # the package, the tests, the example plugin


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_for_tests() -> set[str]:
    """Distributions of the runtime dependencies and the [test] extra."""
    names = set()
    for requirement in requires("mastra") or []:
        marker = requirement.partition(";")[2]
        if "extra" in marker and not re.search(r"""extra\s*==\s*["']test["']""", marker):
            continue
        names.add(normalized(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0]))
    return names


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> the test files importing it, for modules outside the stdlib."""
    found: dict[str, set[str]] = {}
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in LOCAL:
                    found.setdefault(top, set()).add(str(path.relative_to(TESTS)))
    return found


def test_every_module_the_tests_import_is_declared():
    declared = declared_for_tests()
    owners = packages_distributions()
    undeclared = {
        module: sorted(files)
        for module, files in third_party_imports().items()
        if not {normalized(d) for d in owners.get(module, [])} & declared
    }
    assert not undeclared, (
        f"tests import modules from distributions outside the runtime dependencies and the "
        f"[test] extra: {undeclared}; add them to [test] in pyproject.toml"
    )


def test_the_benchmark_peers_stay_out_of_the_test_extra():
    declared = declared_for_tests()
    # (usearch is no longer only a peer: it backs InMemoryVector(index="hnsw"), tested here)
    for peer in ("faiss-cpu", "lru-dict", "agno", "langgraph", "pytest-benchmark"):
        assert peer not in declared, peer
