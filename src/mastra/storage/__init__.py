"""Storage: threads, messages, resources, workflow runs, spans and a key-value area, behind
one async protocol with in-memory, SQLite (the embedded default) and PostgreSQL backends."""

from typing import TYPE_CHECKING, Any

from mastra.storage.memory import InMemoryStorage
from mastra.storage.sqlite import SQLiteStorage
from mastra.storage.types import Resource, Storage, StoredMessage, Thread, WorkflowRun

if TYPE_CHECKING:
    from mastra.storage.postgres import PostgresStorage

__all__ = [
    "InMemoryStorage",
    "PostgresStorage",
    "Resource",
    "SQLiteStorage",
    "Storage",
    "StoredMessage",
    "Thread",
    "WorkflowRun",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStorage":  # psycopg loads only when asked for
        from mastra.storage.postgres import PostgresStorage

        return PostgresStorage
    raise AttributeError(f"module 'mastra.storage' has no attribute {name!r}")
