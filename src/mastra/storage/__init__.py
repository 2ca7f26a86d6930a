"""Storage: threads, messages, resources, workflow runs, spans, scores and a key-value area,
behind one async protocol with in-memory, SQLite (the embedded default) and PostgreSQL
backends."""

from typing import TYPE_CHECKING, Any, cast

from mastra.storage.memory import InMemoryStorage
from mastra.storage.sqlite import SQLiteStorage
from mastra.storage.types import (
    Resource,
    ScoreRecord,
    Storage,
    StoredMessage,
    Thread,
    WorkflowRun,
)

if TYPE_CHECKING:
    from mastra.storage.postgres import PostgresStorage

__all__ = [
    "InMemoryStorage",
    "PostgresStorage",
    "Resource",
    "SQLiteStorage",
    "ScoreRecord",
    "Storage",
    "StoredMessage",
    "Thread",
    "WorkflowRun",
    "open_storage",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStorage":  # psycopg loads only when asked for
        from mastra.storage.postgres import PostgresStorage

        return PostgresStorage
    raise AttributeError(f"module 'mastra.storage' has no attribute {name!r}")


def open_storage(url: str) -> Storage:
    """The storage a URL names: ``memory://``, ``sqlite:///path/app.db`` (``sqlite://:memory:``),
    ``postgresql://user@host/db``, or a scheme an installed plugin registers in the
    ``mastra.storage`` entry-point group (called with the URL)."""
    from mastra.plugins import open_url

    opened = open_url(
        "storage", url, InMemoryStorage, SQLiteStorage, "mastra.storage.postgres:PostgresStorage"
    )
    return cast(Storage, opened)  # every built-in backend implements the protocol
