"""Plugins: installed packages add providers, storage and vector backends, and tools through
entry points, without touching Mastra.py.

In the plugin package's ``pyproject.toml``::

    [project.entry-points."mastra.providers"]
    acme = "acme_mastra:AcmeModel"          # get_model("acme/x") -> AcmeModel("x", ...)

    [project.entry-points."mastra.storage"]
    acme = "acme_mastra:open_storage"       # open_storage("acme://...") -> open_storage(url)

    [project.entry-points."mastra.vectors"]
    acme = "acme_mastra:open_vectors"       # open_vectors("acme://...")

    [project.entry-points."mastra.tools"]
    acme = "acme_mastra:TOOLS"              # a Tool, or a list of Tools
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mastra.errors import ConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["GROUPS", "Kind", "load", "names", "open_url"]

T = TypeVar("T")
Kind = Literal["providers", "storage", "vectors", "tools"]
GROUPS: dict[Kind, str] = {
    "providers": "mastra.providers",
    "storage": "mastra.storage",
    "vectors": "mastra.vectors",
    "tools": "mastra.tools",
}


def _installed(kind: Kind) -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points  # ~20 ms: paid when a plugin is looked up

    return {point.name: point for point in entry_points(group=GROUPS[kind])}


def names(kind: Kind) -> list[str]:
    """The names the installed plugins register for ``kind``, sorted."""
    return sorted(_installed(kind))


def load(kind: Kind, name: str) -> Any | None:
    """The object an installed plugin registers as ``name`` for ``kind`` (None when none
    does); a plugin that fails to import is a ConfigError naming its package."""
    point = _installed(kind).get(name)
    return _load(point) if point is not None else None


@cache
def _load(point: EntryPoint) -> Any:
    try:
        return point.load()
    except Exception as exc:
        package = point.dist.name if point.dist is not None else point.value
        raise ConfigError(
            f"the {point.group} plugin {point.name!r} ({point.value}, from {package}) failed "
            f"to load: {type(exc).__name__}: {exc}"
        ) from exc


def open_url(
    kind: Kind,
    url: str,
    memory: Callable[..., T],
    sqlite: Callable[[str], T],
    postgres: str,
    memory_options: Mapping[str, Callable[[str], object]] | None = None,
) -> T:
    """What ``url`` names: ``memory://`` -> ``memory()`` (``memory://?name=value&...`` ->
    ``memory(name=parse(value))`` for the options ``memory_options`` maps to their parsers);
    ``sqlite:///app.db`` -> ``sqlite("app.db")`` (``sqlite:////abs/app.db`` -> ``"/abs/app.db"``);
    ``postgresql://...`` -> the class ``postgres`` names (``"module:Class"``, imported only then)
    given the URL; any other scheme -> the plugin registered for it, given the URL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"{kind} URL {url!r} has no scheme; expected e.g. sqlite:///app.db")
    if scheme == "memory":
        return memory(**_memory_options(kind, rest.partition("?")[2], memory_options or {}))
    if scheme == "sqlite":
        return sqlite(rest[1:] if rest.startswith("/") else rest)
    if scheme in ("postgres", "postgresql"):
        module, _, name = postgres.partition(":")
        made: T = getattr(import_module(module), name)(url)
        return made
    factory = load(kind, scheme)
    if factory is None:
        known = ", ".join(["memory", "postgres", "postgresql", "sqlite", *names(kind)])
        raise ConfigError(f"no {kind} for {scheme}:// URLs; known schemes: {known}")
    made = factory(url)
    return made


def _memory_options(
    kind: Kind, query: str, parsers: Mapping[str, Callable[[str], object]]
) -> dict[str, object]:
    """A ``memory://`` URL's query parsed into keyword arguments; ConfigError for a name the
    backend does not take or a value its parser refuses."""
    from urllib.parse import parse_qsl

    accepted = ", ".join(sorted(parsers)) or "none"
    options: dict[str, object] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parse = parsers.get(name)
        if parse is None:
            raise ConfigError(f"memory:// {kind} takes no option {name!r}; it takes: {accepted}")
        try:
            options[name] = parse(value)
        except ValueError:
            raise ConfigError(
                f"memory:// {kind} option {name}={value!r} is not a valid {parse.__name__}"
            ) from None
    return options
