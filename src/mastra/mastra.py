"""``Mastra``: the registry that holds an application's agents, workflows, tools, storage,
vector stores, telemetry and logger, and looks them up by name."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from mastra.closeable import AsyncCloseable
from mastra.config import MastraConfig, load_config
from mastra.errors import NotFoundError, ValidationError
from mastra.telemetry import Telemetry, configure_logging

if TYPE_CHECKING:
    from mastra.agent import Agent
    from mastra.storage import Storage
    from mastra.tools import Tool
    from mastra.vector import VectorStore
    from mastra.workflows import Workflow, WorkflowResult

__all__ = ["Mastra"]

C = TypeVar("C")
# Components by name, or components that carry their own name.
Components = Mapping[str, C] | Iterable[C] | None


def _index(kind: str, key_attr: str, components: Components[C]) -> dict[str, C]:
    """Name -> component, from a mapping or from objects that carry their own name."""
    if components is None:
        return {}
    if isinstance(components, Mapping):
        items: list[tuple[str, C]] = list(components.items())
    else:
        items = []
        for component in components:
            key = getattr(component, key_attr, None)
            if not isinstance(key, str) or not key:
                raise ValidationError(
                    f"cannot register {component!r} as a {kind}: it has no string "
                    f"'{key_attr}'; pass a mapping {{name: {kind}}} instead"
                )
            items.append((key, component))
    registry: dict[str, C] = {}
    for key, component in items:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"{kind} names must be non-empty strings, got {key!r}")
        if key in registry:
            raise ValidationError(f"two {kind}s are named {key!r}; names must be unique")
        registry[key] = component
    return registry


def _find(kind: str, registry: Mapping[str, C], name: str) -> C:
    """registry[name], or a NotFoundError that lists the names registered (and the closest)."""
    if name in registry:
        return registry[name]
    known = ", ".join(sorted(registry)) or "none"
    hint = difflib.get_close_matches(name, list(registry), n=1) if isinstance(name, str) else []
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    raise NotFoundError(f"unknown {kind} {name!r}{suggestion}; registered {kind}s: {known}")


class Mastra(AsyncCloseable):
    """The application registry.

    Args:
        agents: agents by name, or agents that carry their ``name``.
        workflows: workflows by id, or workflows that carry their ``id``.
        tools: tools by id, or tools that carry their ``id``.
        storage: the storage backend shared by memory and workflows (default: the one
            ``config.storage`` names by URL, if any).
        vectors: vector stores by name (plus those ``config.vectors`` names by URL).
        telemetry: tracer, meter and redactor; default from ``config``.
        logger: default ``telemetry.logger`` (the ``mastra`` logger).
        config: a :class:`MastraConfig`; default ``MastraConfig()``.

    What is registered is the registry's to close: ``async with Mastra(...) as app:`` (or
    ``await app.aclose()``) closes the agents (and the models they made), their memories,
    the storage and the vector stores, and flushes telemetry.
    """

    def __init__(
        self,
        *,
        agents: Components[Agent] = None,
        workflows: Components[Workflow] = None,
        tools: Components[Tool[Any]] = None,
        storage: Storage | None = None,
        vectors: Mapping[str, VectorStore] | None = None,
        telemetry: Telemetry | None = None,
        logger: logging.Logger | None = None,
        config: MastraConfig | None = None,
    ) -> None:
        self.config = config or MastraConfig()
        self.telemetry = telemetry or Telemetry.from_config(self.config)
        self.logger = logger or self.telemetry.logger
        if storage is None and self.config.storage:
            from mastra.storage import open_storage

            storage = open_storage(self.config.storage)
        self.storage = storage
        self._agents = _index("agent", "name", agents)
        self._workflows = _index("workflow", "id", workflows)
        self._tools = _index("tool", "id", tools)
        self._vectors: dict[str, VectorStore] = _index("vector store", "name", vectors)
        for name, url in self.config.vectors.items():
            if name not in self._vectors:
                from mastra.vector import open_vectors

                self._vectors[name] = open_vectors(url)
        for component in (*self._agents.values(), *self._workflows.values()):
            bind = getattr(component, "bind", None)  # any object with a name registers
            if callable(bind):
                bind(self)  # components pick up this registry's telemetry (and storage)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **components: Any) -> Mastra:
        """A Mastra configured from a JSON/TOML file (with ``MASTRA_*`` env overrides), which
        also sets up the ``mastra`` logger; ``components`` are passed to the constructor."""
        config = load_config(path)
        telemetry = Telemetry.from_config(config)
        configure_logging(
            config.logging.level, format=config.logging.format, redactor=telemetry.redactor
        )
        return cls(config=config, telemetry=telemetry, **components)

    @property
    def agents(self) -> dict[str, Agent]:
        return dict(self._agents)

    @property
    def workflows(self) -> dict[str, Workflow]:
        return dict(self._workflows)

    @property
    def tools(self) -> dict[str, Tool[Any]]:
        return dict(self._tools)

    @property
    def vectors(self) -> dict[str, VectorStore]:
        return dict(self._vectors)

    def get_agent(self, name: str) -> Agent:
        """The agent registered as ``name``; NotFoundError lists the ones that exist."""
        return _find("agent", self._agents, name)

    def get_workflow(self, id: str) -> Workflow:
        """The workflow registered as ``id``; NotFoundError lists the ones that exist."""
        return _find("workflow", self._workflows, id)

    def get_tool(self, id: str) -> Tool[Any]:
        """The tool registered as ``id``; NotFoundError lists the ones that exist."""
        return _find("tool", self._tools, id)

    def get_vector(self, name: str) -> VectorStore:
        """The vector store registered as ``name``; NotFoundError lists the ones that exist."""
        return _find("vector store", self._vectors, name)

    async def aclose(self) -> None:
        """Close everything registered (see the class docstring); safe to call twice."""
        memories = [getattr(agent, "memory", None) for agent in self._agents.values()]
        for component in (*self._agents.values(), *memories, *self._vectors.values()):
            close = getattr(component, "aclose", None)
            if close is not None:
                await close()
        if self.storage is not None:
            await self.storage.aclose()
        self.telemetry.shutdown()

    async def recover_workflows(self) -> dict[str, list[WorkflowResult]]:
        """Continue the runs of every registered workflow (with storage) whose process died
        mid-run; see ``Workflow.recover``. Returns the results by workflow id."""
        return {
            id: await workflow.recover()
            for id, workflow in self._workflows.items()
            if workflow.storage is not None
        }

    def __repr__(self) -> str:
        return (
            f"Mastra({self.config.name!r}, agents={sorted(self._agents)}, "
            f"workflows={sorted(self._workflows)}, tools={sorted(self._tools)}, "
            f"vectors={sorted(self._vectors)})"
        )
