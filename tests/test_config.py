import json

import pytest

from mastra import ConfigError, MastraConfig, load_config
from mastra.config import LoggingConfig, TelemetryConfig


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_without_any_source():
    config = load_config(env={})
    assert config == MastraConfig()
    assert config.logging.level == "INFO"
    assert config.telemetry.enabled is False


def test_precedence_env_over_file_over_keywords(tmp_path):
    path = write(
        tmp_path,
        "mastra.toml",
        '[logging]\nlevel = "WARNING"\nformat = "text"\n[telemetry]\nservice_name = "from-file"\n',
    )
    config = load_config(
        path,
        env={"MASTRA_LOGGING__LEVEL": "DEBUG"},
        name="from-kwargs",
        logging={"level": "ERROR"},
        telemetry=TelemetryConfig(service_name="from-kwargs", enabled=True),
    )
    assert config.logging.level == "DEBUG"  # env beats file and keywords
    assert config.logging.format == "text"  # file beats the default
    assert config.telemetry.service_name == "from-file"  # file beats keywords
    assert config.telemetry.enabled is True  # keywords beat defaults, merged per field
    assert config.name == "from-kwargs"


def test_json_file_and_env_types_are_converted(tmp_path):
    path = write(tmp_path, "c.json", json.dumps({"telemetry": {"enabled": False}}))
    config = load_config(
        path,
        env={"MASTRA_TELEMETRY__ENABLED": "true", "MASTRA_SECRETS": '["DB_URL", "X"]'},
    )
    assert config.telemetry.enabled is True
    assert config.secrets == ["DB_URL", "X"]


def test_unrelated_mastra_env_vars_are_ignored():
    config = load_config(env={"MASTRA_SIMD": "avx2", "MASTRA_CONFIG": "x", "PATH": "/bin"})
    assert config == MastraConfig()


def test_keyword_struct_and_dict_forms_are_equivalent():
    a = load_config(env={}, logging=LoggingConfig(level="DEBUG"))
    b = load_config(env={}, logging={"level": "DEBUG"})
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "env", "needles"),
    [
        (
            {},
            {"MASTRA_TELEMETRY__ENABLED": "maybe"},
            ["telemetry.enabled", "'maybe'", "env MASTRA_TELEMETRY__ENABLED", "bool"],
        ),
        (
            {"logging": {"level": "LOUD"}},
            {},
            ["logging.level", "'LOUD'", "keyword argument", "'DEBUG'", "'CRITICAL'"],
        ),
        ({"secrets": [1]}, {}, ["secrets[0]", "= 1", "str"]),
        ({"telemetry": {"service_name": ""}}, {}, ["telemetry.service_name", "length >= 1"]),
        ({"name": 5}, {}, ["'name' = 5", "str"]),
    ],
)
def test_invalid_values_name_field_value_source_and_expectation(kwargs, env, needles):
    with pytest.raises(ConfigError) as info:
        load_config(env=env, **kwargs)
    for needle in needles:
        assert needle in str(info.value)


def test_unknown_field_lists_known_fields():
    with pytest.raises(ConfigError, match=r"unknown config field 'logging.levl'.*format, level"):
        load_config(env={"MASTRA_LOGGING__LEVL": "DEBUG"})
    with pytest.raises(ConfigError, match=r"unknown config field 'bogus'.*logging, name"):
        load_config(env={}, bogus=1)


def test_unknown_field_in_file_names_the_file(tmp_path):
    path = write(tmp_path, "c.toml", "[telemetry]\nexporterr = 'console'\n")
    with pytest.raises(ConfigError, match=r"telemetry.exporterr.*file .*c.toml"):
        load_config(path, env={})


def test_jsonl_exporter_needs_a_path():
    with pytest.raises(ConfigError, match=r"needs telemetry\.path"):
        load_config(env={}, telemetry={"exporter": "jsonl"})


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml", env={})
    with pytest.raises(ConfigError, match=r"suffix '.yaml'; expected .json or .toml"):
        load_config(write(tmp_path, "c.yaml", "a: 1"), env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "c.toml", "[logging\n"), env={})
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(write(tmp_path, "c.json", "{"), env={})
    with pytest.raises(ConfigError, match="holds a list; expected an object"):
        load_config(write(tmp_path, "c.json", "[1]"), env={})


def test_env_json_that_does_not_parse():
    with pytest.raises(ConfigError, match="MASTRA_SECRETS starts like JSON"):
        load_config(env={"MASTRA_SECRETS": "[oops"})


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("MASTRA_NAME", "from-os-environ")
    assert load_config().name == "from-os-environ"


def test_storage_and_vectors_by_url_reach_the_registry(tmp_path):
    from mastra import Mastra
    from mastra.storage import SQLiteStorage
    from mastra.vector import InMemoryVector, SQLiteVector

    config = load_config(
        env={
            "MASTRA_STORAGE": f"sqlite:///{tmp_path}/app.db",
            "MASTRA_VECTORS__DOCS": f"sqlite:///{tmp_path}/vec.db",
            "MASTRA_VECTORS__CACHE": "memory://",
        }
    )
    assert config.vectors == {"docs": f"sqlite:///{tmp_path}/vec.db", "cache": "memory://"}
    app = Mastra(config=config)
    assert isinstance(app.storage, SQLiteStorage) and app.storage.path == f"{tmp_path}/app.db"
    assert isinstance(app.get_vector("docs"), SQLiteVector)
    assert isinstance(app.get_vector("cache"), InMemoryVector)
    secret = load_config(storage="postgresql://app:hunter2@db/app")
    assert "hunter2" not in repr(secret) and "app:***@db" in repr(secret)
