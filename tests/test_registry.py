import json
from dataclasses import dataclass

import pytest

from mastra import Mastra, NotFoundError, Telemetry, ValidationError


@dataclass
class FakeAgent:  # the registry only needs a name; Agent itself lands with the agents issue
    name: str


@dataclass
class Flow:
    id: str


def test_lookup_by_name_from_objects_and_mappings():
    weather, support = FakeAgent("weather"), FakeAgent("support")
    app = Mastra(
        agents=[weather, support], workflows={"etl": Flow("etl")}, vectors={"docs": object()}
    )
    assert app.get_agent("weather") is weather
    assert app.get_workflow("etl").id == "etl"
    assert set(app.agents) == {"weather", "support"}
    assert "docs" in app.vectors


def test_unknown_names_list_what_exists_and_suggest():
    app = Mastra(agents=[FakeAgent("weather"), FakeAgent("support")])
    with pytest.raises(NotFoundError) as info:
        app.get_agent("wether")
    message = str(info.value)
    assert "unknown agent 'wether'" in message
    assert "did you mean 'weather'" in message
    assert "registered agents: support, weather" in message
    with pytest.raises(NotFoundError, match="registered workflows: none"):
        app.get_workflow("etl")
    with pytest.raises(NotFoundError, match="unknown vector store 'x'"):
        app.get_vector("x")
    with pytest.raises(NotFoundError, match="unknown tool 'x'"):
        app.get_tool("x")


def test_duplicate_and_nameless_components_are_rejected():
    with pytest.raises(ValidationError, match="two agents are named 'a'"):
        Mastra(agents=[FakeAgent("a"), FakeAgent("a")])
    with pytest.raises(ValidationError, match="has no string 'id'"):
        Mastra(workflows=[object()])
    with pytest.raises(ValidationError, match="non-empty strings"):
        Mastra(agents={"": FakeAgent("x")})


def test_registry_holds_storage_telemetry_and_logger():
    telemetry = Telemetry("svc", enabled=False)
    storage = object()
    app = Mastra(storage=storage, telemetry=telemetry)
    assert app.storage is storage
    assert app.telemetry is telemetry
    assert app.logger is telemetry.logger
    assert "weather" not in repr(app)


def test_from_config_builds_telemetry_and_logging(tmp_path, monkeypatch, capsys):
    spans = tmp_path / "spans.jsonl"
    path = tmp_path / "mastra.json"
    path.write_text(
        json.dumps(
            {
                "name": "shop",
                "logging": {"level": "DEBUG"},
                "telemetry": {
                    "enabled": True,
                    "exporter": "jsonl",
                    "path": str(spans),
                    "service_name": "shop",
                },
            }
        )
    )
    monkeypatch.setenv("MASTRA_LOGGING__LEVEL", "WARNING")
    app = Mastra.from_config(path, agents=[FakeAgent("clerk")])
    assert app.config.name == "shop"
    assert app.config.logging.level == "WARNING"  # env wins over the file
    assert app.get_agent("clerk").name == "clerk"
    with app.telemetry.tracer.span("checkout"):
        pass
    app.telemetry.shutdown()
    from mastra.telemetry import read_jsonl

    [record] = read_jsonl(spans)
    assert (record.name, record.service) == ("checkout", "shop")
    assert app.logger.getEffectiveLevel() == 30
