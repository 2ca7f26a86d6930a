"""A third-party package adds a provider, storage, vectors and tools through entry points:
the example package in tests/plugin_package is installed for real (pip, into a folder put on
sys.path) and used through Mastra.py's own lookups."""

import subprocess
import sys
from pathlib import Path

import pytest

from mastra import Agent, Mastra, load_config, plugins
from mastra.errors import ConfigError, ValidationError
from mastra.llm import get_model
from mastra.storage import SQLiteStorage, open_storage
from mastra.tools import plugin_tools
from mastra.vector import open_vectors

PACKAGE = Path(__file__).parent / "plugin_package"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--no-index", "--target", str(target), str(PACKAGE)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("acme_mastra")]:
        del sys.modules[name]


def test_the_plugin_registers_in_every_group(installed):
    assert {kind: plugins.names(kind) for kind in plugins.GROUPS} == {
        "providers": ["acme"],
        "storage": ["acme"],
        "vectors": ["acme"],
        "tools": ["acme"],
    }


async def test_a_plugin_provider_answers_through_an_agent(installed):
    model = get_model("acme/rocket-1", temperature_hint=0.2)
    assert type(model).__name__ == "AcmeModel" and model.options == {"temperature_hint": 0.2}
    agent = Agent("a", "Be brief.", "acme/rocket-1")
    assert (await agent.generate("hello")).text == "acme rocket-1: hello"
    await agent.aclose()


async def test_plugin_storage_vectors_and_tools(installed):
    storage = open_storage("acme://warehouse/7")
    assert type(storage).__name__ == "AcmeStorage" and storage.url == "acme://warehouse/7"
    vectors = open_vectors("acme://shelf")
    await vectors.create_index("docs", 2)
    await vectors.upsert("docs", [[1, 0], [0, 1]], ids=["x", "y"])
    assert [r.id for r in await vectors.query("docs", [0, 1], 1)] == ["y"]
    await vectors.aclose()
    assert [t.id for t in plugin_tools()] == ["shout", "whisper"]
    app = Mastra(config=load_config(storage="acme://from-config", vectors={"v": "acme://v"}))
    assert app.storage.url == "acme://from-config" and app.get_vector("v") is not None


def test_without_the_plugin_the_errors_say_what_exists(tmp_path):
    with pytest.raises(ValidationError, match=r"unknown provider 'nope'.*anthropic"):
        get_model("nope/x")
    with pytest.raises(
        ConfigError,
        match=r"no storage for nope:// URLs; known schemes: .*memory, postgres, postgresql, sqlite",
    ):
        open_storage("nope://x")
    with pytest.raises(ConfigError, match="has no scheme"):
        open_storage("app.db")
    with pytest.raises(
        ConfigError,
        match=r"no vectors for nope:// URLs; known schemes: .*memory, postgres, postgresql, sqlite",
    ):
        open_vectors("nope://x")
    assert isinstance(open_storage(f"sqlite:///{tmp_path}/a.db"), SQLiteStorage)


def test_a_plugin_that_fails_to_load_is_named(tmp_path, monkeypatch):
    info = tmp_path / "broken_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[mastra.providers]\nbroken = no_such_module:Model\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=r"plugin 'broken' .*from broken-plugin\) failed to load"):
        get_model("broken/x")
