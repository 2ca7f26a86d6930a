"""Typed configuration from keyword arguments, a JSON/TOML file and ``MASTRA_*`` env vars.

Precedence, highest first: environment, then the file, then keyword arguments, then the
defaults. Keyword arguments are the program's own defaults; a file lets a deployment change
them; the environment has the last word (twelve-factor style).

Environment variables map onto fields by name: ``MASTRA_NAME`` sets ``name`` and a double
underscore goes one level down, so ``MASTRA_LOGGING__LEVEL=DEBUG`` sets ``logging.level``.
Values are parsed leniently (``"true"``, ``"0.5"``; a value starting with ``[`` or ``{`` is
JSON). Variables whose first part names no section (``MASTRA_SIMD``, ``MASTRA_CONFIG`` ...)
belong to other parts of Mastra and are left alone.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import msgspec

from mastra.errors import ConfigError
from mastra.pg import without_password

__all__ = ["LoggingConfig", "MastraConfig", "TelemetryConfig", "load_config"]

ENV_PREFIX = "MASTRA_"
_NESTING = "__"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class LoggingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the ``mastra`` logger writes: level and ``json`` or ``text`` lines."""

    level: LogLevel = "INFO"
    format: Literal["json", "text"] = "json"


class TelemetryConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Tracing and metrics: on or off, and where finished spans go."""

    enabled: bool = False
    service_name: Annotated[str, msgspec.Meta(min_length=1)] = "mastra"
    exporter: Literal["memory", "console", "jsonl"] = "memory"
    path: str | None = None
    """File for the ``jsonl`` exporter."""

    def __post_init__(self) -> None:
        if self.exporter == "jsonl" and not self.path:
            raise ConfigError(
                "telemetry.exporter = 'jsonl' needs telemetry.path: the file to append spans to"
            )


class MastraConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything :class:`mastra.Mastra` reads from configuration."""

    name: Annotated[str, msgspec.Meta(min_length=1)] = "mastra"
    logging: LoggingConfig = LoggingConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    secrets: list[str] = []
    """Names of extra environment variables whose values are secrets to redact."""
    storage: str | None = None
    """The registry's storage as a URL (``sqlite:///app.db``, ``postgresql://...``)."""
    vectors: dict[str, str] = {}
    """Vector stores by name, as URLs (``{"docs": "sqlite:///vectors.db"}``)."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__struct_fields__)
        return without_password(f"MastraConfig({fields})")  # URLs may carry passwords


_SECTIONS = frozenset(MastraConfig.__struct_fields__)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> MastraConfig:
    """Build a :class:`MastraConfig` from keyword arguments, a file and the environment.

    Args:
        path: a ``.json`` or ``.toml`` file, optional.
        env: the environment to read (default ``os.environ``).
        **overrides: field values, as plain values, dicts or config Structs.

    Raises:
        ConfigError: naming the field, the bad value, where it came from and what was expected.
    """
    layers: list[tuple[str, dict[str, Any]]] = [
        ("keyword argument", _plain(overrides)),
    ]
    if path is not None:
        layers.append((f"file {os.fspath(path)}", _read_file(Path(path))))
    layers.append(("env", _from_env(os.environ if env is None else env)))

    merged: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    for source, layer in layers:
        _merge(merged, layer, source, sources, ())
    try:
        return msgspec.convert(merged, MastraConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise _explain(exc, merged, sources) from None


def _plain(overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {key: msgspec.to_builtins(value) for key, value in overrides.items()}


def _read_file(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigError(f"config file {path} has suffix {suffix!r}; expected .json or .toml")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode()) if suffix == ".toml" else msgspec.json.decode(raw)
    except (tomllib.TOMLDecodeError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} holds a {type(data).__name__}; expected an object of fields"
        )
    return data


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split(_NESTING)
        if parts[0] not in _SECTIONS:
            continue
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _env_value(name, raw)
    return result


def _env_value(name: str, raw: str) -> Any:
    if raw[:1] in ("[", "{"):
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise ConfigError(f"env {name} starts like JSON but does not parse: {exc}") from None
    return raw


def _merge(
    into: dict[str, Any],
    layer: Mapping[str, Any],
    source: str,
    sources: dict[tuple[str, ...], str],
    prefix: tuple[str, ...],
) -> None:
    for key, value in layer.items():
        where = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value, source, sources, where)
            continue
        into[key] = dict(value) if isinstance(value, Mapping) else value
        for child in _leaf_paths(value, where):
            sources[child] = _source_name(source, child)


def _leaf_paths(value: Any, where: tuple[str, ...]) -> list[tuple[str, ...]]:
    if isinstance(value, Mapping):
        return [where] + [p for k, v in value.items() for p in _leaf_paths(v, (*where, k))]
    return [where]


def _source_name(source: str, where: tuple[str, ...]) -> str:
    if source == "env":
        return "env " + ENV_PREFIX + _NESTING.join(where).upper()
    return source


_MSGSPEC_ERROR = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`$")


def _explain(
    exc: msgspec.ValidationError, merged: Mapping[str, Any], sources: dict[tuple[str, ...], str]
) -> ConfigError:
    match = _MSGSPEC_ERROR.match(str(exc))
    assert match is not None  # the pattern accepts any string
    what, path = match["what"], _split_path(match["path"] or "")
    unknown = _UNKNOWN_FIELD.match(what)
    if unknown:
        where = (*path, unknown["field"])
        known = ", ".join(sorted(_field_type(path).__struct_fields__))
        section = f"of '{_dotted(path)}' " if path else ""
        return ConfigError(
            f"unknown config field '{_dotted(where)}' ({_origin(sources, where)}); "
            f"known fields {section}are: {known}"
        )
    if what.startswith("Invalid enum value"):
        choices = ", ".join(repr(c) for c in get_args(_field_type(path)))
        expected = f"expected one of {choices}"
    else:
        expected = what[:1].lower() + what[1:]
    value = _lookup(merged, path)
    return ConfigError(
        f"invalid config field '{_dotted(path) or '<root>'}' = {value!r} "
        f"({_origin(sources, path)}): {expected}"
    )


def _split_path(path: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"\.|\[(\d+)\]", path) if p)


def _dotted(path: tuple[str, ...]) -> str:
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path).lstrip(".")


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        data = data[int(part)] if isinstance(data, list) else data.get(part)
    return data


def _origin(sources: dict[tuple[str, ...], str], path: tuple[str, ...]) -> str:
    for end in range(len(path), 0, -1):
        if path[:end] in sources:
            return "from " + sources[path[:end]]
    return "default"


def _field_type(path: tuple[str, ...]) -> Any:
    """The declared type at ``path`` inside MastraConfig (list items stand for their list)."""
    node: Any = MastraConfig
    for part in path:
        if part.isdigit():
            node = get_args(node)[0]
        else:
            node = {f.name: f.type for f in msgspec.structs.fields(node)}[part]
    return node
