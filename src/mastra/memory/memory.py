"""``Memory``: threads and messages, conversation history, semantic recall, working memory and
pruning, on any Storage and VectorStore."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from mastra.closeable import AsyncCloseable
from mastra.errors import ValidationError
from mastra.ids import new_id, new_ids
from mastra.memory.options import MemoryOptions, PrunePolicy
from mastra.messages import Message
from mastra.processors.base import ProcessorContext, as_processor, run_input
from mastra.rag.embedders import Embedder, HashingEmbedder
from mastra.storage import Resource, Storage, StoredMessage, Thread
from mastra.storage.types import now
from mastra.tools import Tool
from mastra.vector.base import QueryResult, VectorStore

if TYPE_CHECKING:
    from mastra.mastra import Mastra

__all__ = ["Memory"]

INDEX = "mastra_memory"
_PAGE = 10_000
_BUILD_CHUNK = 100  # messages made between yields to the event loop (about 0.2 ms)


class _WorkingMemoryText(msgspec.Struct, forbid_unknown_fields=True):
    memory: str


class Memory(AsyncCloseable):
    """Memory for agents: pass it as ``Agent(memory=...)`` and call
    ``agent.generate(prompt, thread_id=..., resource_id=...)``.

    Args:
        storage: where threads, messages and working memory live (default: the registry's,
            else ``SQLiteStorage("mastra.db")``).
        vector: where message embeddings live for semantic recall (default: the registry's
            first vector store, else ``SQLiteVector("mastra.db")``).
        embedder: text to vectors (default :class:`~mastra.rag.HashingEmbedder`, offline).
        options: history length, recall, working memory, processors.
        read_only: read history, recall and working memory but write nothing: no message is
            saved or indexed, and agents get no ``update_working_memory`` tool (one run can
            ask the same with ``memory_read_only=True``).

    The stores it makes itself (the SQLite defaults) are its own: ``aclose()`` closes them;
    stores you pass in (or the registry's) stay yours to close.
    """

    def __init__(
        self,
        storage: Storage | None = None,
        vector: VectorStore | None = None,
        embedder: Embedder | None = None,
        options: MemoryOptions | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self._storage = storage
        self.read_only = read_only
        self._vector = vector
        self.embedder = embedder or HashingEmbedder()
        self.options = options or MemoryOptions()
        self._processors = [as_processor(p) for p in self.options.processors]
        self._index_ready = False
        self._owned: list[AsyncCloseable] = []

    def bind(self, mastra: Mastra) -> None:
        """Use the registry's storage and vector store where none were given."""
        if self._storage is None and mastra.storage is not None:
            self._storage = mastra.storage
        if self._vector is None and mastra.vectors:
            self._vector = next(iter(mastra.vectors.values()))

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            from mastra.storage import SQLiteStorage

            self._storage = SQLiteStorage("mastra.db")
            self._owned.append(self._storage)
        return self._storage

    @property
    def vector(self) -> VectorStore:
        if self._vector is None:
            from mastra.vector.sqlite import SQLiteVector

            self._vector = SQLiteVector("mastra.db")
            self._owned.append(self._vector)
        return self._vector

    async def aclose(self) -> None:
        """Close the stores this memory made itself."""
        owned, self._owned = self._owned, []
        for store in owned:
            await store.aclose()

    # -- threads --------------------------------------------------------------------------

    async def create_thread(
        self,
        resource_id: str,
        *,
        thread_id: str | None = None,
        title: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> Thread:
        self._writable("create a thread")
        thread = Thread(
            id=thread_id or new_id(),
            resource_id=resource_id,
            title=title,
            metadata=metadata or {},
        )
        return await self.storage.save_thread(thread)

    async def get_thread(self, thread_id: str) -> Thread | None:
        return await self.storage.get_thread(thread_id)

    async def list_threads(
        self, resource_id: str, *, limit: int = 50, offset: int = 0
    ) -> list[Thread]:
        return await self.storage.list_threads(resource_id, limit=limit, offset=offset)

    async def update_thread(
        self, thread_id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Thread:
        self._writable("update a thread")
        return await self.storage.update_thread(thread_id, title=title, metadata=metadata)

    async def delete_thread(self, thread_id: str) -> None:
        self._writable("delete a thread")
        await self.storage.delete_thread(thread_id)

    # -- messages -------------------------------------------------------------------------

    async def save_messages(
        self,
        thread_id: str,
        messages: Sequence[Message],
        *,
        resource_id: str | None = None,
        importance: float = 0.5,
        ids: Sequence[str] | None = None,
    ) -> list[StoredMessage]:
        """Store messages at the end of a thread (created for ``resource_id`` if new) and
        index their text for semantic recall; ``ids`` keeps the caller's message ids (one per
        message; a message with an id that exists replaces it)."""
        self._writable("save messages")
        if ids is not None and len(ids) != len(messages):
            raise ValidationError(f"got {len(ids)} ids for {len(messages)} messages")
        thread = await self.storage.get_thread(thread_id)
        if thread is None:
            if resource_id is None:
                raise ValidationError(
                    f"thread {thread_id!r} does not exist; pass resource_id to create it"
                )
            thread = await self.create_thread(resource_id, thread_id=thread_id)
        start = now()
        stored: list[StoredMessage] = []
        for first in range(0, len(messages), _BUILD_CHUNK):
            if first:
                await asyncio.sleep(0)  # a large batch lets the loop's other tasks run
            chunk = messages[first : first + _BUILD_CHUNK]
            made = ids[first : first + len(chunk)] if ids is not None else new_ids(len(chunk))
            stored.extend(
                StoredMessage.of(
                    m,
                    id=made[i],
                    thread_id=thread_id,
                    resource_id=thread.resource_id,
                    importance=importance,
                    created_at=start + timedelta(microseconds=first + i),
                )
                for i, m in enumerate(chunk)
            )
        await self.storage.save_messages(stored)
        if self.options.semantic_recall is not None:
            await self._index(stored)
        return stored

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise ValidationError(f"this Memory is read-only (read_only=True); cannot {what}")

    async def _ensure_index(self) -> None:
        if not self._index_ready:
            options: dict[str, Any] = {}
            if type(self.vector).__name__ in ("InMemoryVector", "SQLiteVector"):
                options["dtype"] = "int8"  # 4x less to scan; scores are re-ranked exactly
            await self.vector.create_index(INDEX, self.embedder.dimension, "cosine", **options)
            self._index_ready = True

    async def _index(self, stored: list[StoredMessage]) -> None:
        texts = [(m, m.to_message().text) for m in stored if m.role in ("user", "assistant")]
        texts = [(m, t) for m, t in texts if t.strip()]
        if not texts:
            return
        await self._ensure_index()
        vectors = await self.embedder.embed([t for _, t in texts])
        await self.vector.upsert(
            INDEX,
            vectors,
            [{"thread_id": m.thread_id, "resource_id": m.resource_id} for m, _ in texts],
            [m.id for m, _ in texts],
        )

    async def history(self, thread_id: str, last: int | None = None) -> list[StoredMessage]:
        """The newest ``last`` messages in order, never starting inside a tool-call unit."""
        count = last if last is not None else self.options.last_messages
        if not count:
            return []
        stored = await self.storage.list_messages(thread_id, last=count)
        while stored and stored[0].role == "tool":
            stored = stored[1:]  # its assistant call fell outside the window
        return stored

    async def recall(
        self,
        thread_id: str,
        resource_id: str | None,
        query: str,
        exclude: AbstractSet[str] = frozenset(),
    ) -> list[StoredMessage]:
        """Earlier messages similar to ``query`` (with their neighbours), oldest first."""
        hits = await self._recall_hits(thread_id, resource_id, query, len(exclude))
        return await self._windows(hits, exclude)

    async def _recall_hits(
        self, thread_id: str, resource_id: str | None, query: str, spare: int
    ) -> list[QueryResult]:
        """The index's best matches for ``query``: ``top_k`` and ``spare`` more (room for the
        ones the caller excludes)."""
        recall = self.options.semantic_recall
        if recall is None or not query.strip():
            return []
        await self._ensure_index()
        scope = (
            {"resource_id": resource_id}
            if recall.scope == "resource" and resource_id
            else {"thread_id": thread_id}
        )
        [vector] = await self.embedder.embed([query])
        return await self.vector.query(INDEX, vector, recall.top_k + spare, scope)

    async def _windows(
        self, hits: list[QueryResult], exclude: AbstractSet[str]
    ) -> list[StoredMessage]:
        """The first ``top_k`` hits not excluded (nor under the threshold), each with its
        neighbours, read concurrently; oldest first, no duplicates."""
        recall = self.options.semantic_recall
        if recall is None or not hits:
            return []
        chosen = [
            hit
            for hit in hits
            if hit.id not in exclude and (recall.threshold is None or hit.score >= recall.threshold)
        ][: recall.top_k]
        windows = await asyncio.gather(
            *(
                self.storage.list_messages_around(
                    str(hit.metadata["thread_id"]),
                    hit.id,
                    before=recall.message_range,
                    after=recall.message_range,
                )
                for hit in chosen
            )
        )
        found: dict[str, StoredMessage] = {}
        for window in windows:
            for message in window:
                if message.id not in exclude:
                    found.setdefault(message.id, message)
        return sorted(found.values(), key=lambda m: m.created_at)

    # -- working memory -------------------------------------------------------------------

    async def get_working_memory(self, thread_id: str, resource_id: str | None) -> str | None:
        settings = self.options.working_memory
        if settings is None:
            return None
        if settings.scope == "resource" and resource_id:
            resource = await self.storage.get_resource(resource_id)
            return resource.working_memory if resource else None
        thread = await self.storage.get_thread(thread_id)
        value = thread.metadata.get("working_memory") if thread else None
        return value if isinstance(value, str) else None

    async def update_working_memory(
        self, thread_id: str, resource_id: str | None, content: Any
    ) -> str:
        settings = self.options.working_memory
        if settings is None:
            raise ValidationError("this Memory has no working memory configured")
        self._writable("update working memory")
        if settings.schema is not None:
            content = msgspec.convert(msgspec.to_builtins(content), settings.schema)
            text = orjson.dumps(msgspec.to_builtins(content)).decode()
        else:
            text = str(content)
        if settings.scope == "resource" and resource_id:
            existing = await self.storage.get_resource(resource_id)
            metadata = existing.metadata if existing else {}
            await self.storage.save_resource(
                Resource(id=resource_id, working_memory=text, metadata=metadata)
            )
        else:
            thread = await self.storage.get_thread(thread_id)
            if thread is None:
                raise ValidationError(f"thread {thread_id!r} does not exist")
            await self.storage.update_thread(
                thread_id, metadata={**thread.metadata, "working_memory": text}
            )
        return text

    def tools(self, thread_id: str, resource_id: str | None) -> list[Tool[Any]]:
        """The tools this memory gives an agent for one run (``update_working_memory``; none
        when read-only)."""
        settings = self.options.working_memory
        if settings is None or self.read_only:
            return []
        schema = settings.schema or _WorkingMemoryText

        async def update(args: Any) -> str:
            value = args.memory if isinstance(args, _WorkingMemoryText) else args
            await self.update_working_memory(thread_id, resource_id, value)
            return "working memory updated"

        description = (
            "Replace your working memory with the complete, updated version "
            "(keep what is still true, add what you learned)."
        )
        return [Tool("update_working_memory", description, input=schema, execute=update)]

    # -- what the model sees --------------------------------------------------------------

    async def context(
        self,
        thread_id: str,
        resource_id: str | None,
        new: Sequence[Message],
        *,
        ctx: ProcessorContext | None = None,
    ) -> list[Message]:
        """Messages to put before the new ones: working memory and recalled messages (as
        system notes), then the recent history after the processors (which see ``ctx``;
        a processor's ``ctx.abort`` raises :class:`~mastra.processors.Tripwire`).

        The independent reads run concurrently: the working memory, the history, and the
        query's embedding with its index search; then the recalled windows."""
        settings = self.options.working_memory
        query = " ".join(m.text for m in new if m.role == "user")
        spare = self.options.last_messages or 0
        current, recent, hits = await asyncio.gather(
            self.get_working_memory(thread_id, resource_id),
            self.history(thread_id),
            self._recall_hits(thread_id, resource_id, query, spare),
        )
        recalled = await self._windows(hits, {m.id for m in recent})
        prefix: list[Message] = []
        if settings is not None:
            shown = (
                current
                if current is not None
                else (settings.template if settings.schema is None else "{}")
            )
            prefix.append(
                Message.system(
                    "## Working memory\nWhat you know about the user and the task, kept across "
                    "conversations. Call update_working_memory when it changes.\n\n" + shown
                )
            )
        if recalled:
            lines = [
                f"- [{m.created_at:%Y-%m-%d %H:%M}] {m.role}: {m.to_message().text}"
                for m in recalled
            ]
            prefix.append(
                Message.system(
                    "## Relevant messages from earlier conversations\n" + "\n".join(lines)
                )
            )
        history = [m.to_message() for m in recent]
        if self._processors:
            context = ctx or ProcessorContext(thread_id=thread_id, resource_id=resource_id)
            history = await run_input(self._processors, history, context)
        return [*prefix, *history]

    # -- decay ----------------------------------------------------------------------------

    async def prune(
        self, policy: PrunePolicy, *, thread_id: str | None = None, resource_id: str | None = None
    ) -> int:
        """Remove the lowest-scoring messages beyond ``policy.max_messages`` of one thread
        (``thread_id``) or across a resource's threads (``resource_id``); returns how many.
        Working memory is never touched, nor the newest ``keep_last`` of each thread."""
        self._writable("prune")
        if policy.per == "thread":
            if thread_id is None:
                raise ValidationError("prune(per='thread') needs thread_id")
            thread_ids = [thread_id]
        else:
            if resource_id is None:
                raise ValidationError("prune(per='resource') needs resource_id")
            thread_ids = [t.id for t in await self.storage.list_threads(resource_id, limit=_PAGE)]
        candidates: list[tuple[float, StoredMessage]] = []
        total, moment = 0, now()
        for tid in thread_ids:
            messages = await self.storage.list_messages(tid, limit=_PAGE)
            total += len(messages)
            protected = messages[-policy.keep_last :] if policy.keep_last else []
            keep = {m.id for m in protected}
            for message in messages:
                if message.id not in keep:
                    age_days = (moment - message.created_at).total_seconds() / 86400
                    score = message.importance * math.pow(0.5, age_days / policy.half_life_days)
                    candidates.append((score, message))
        excess = total - policy.max_messages
        if excess <= 0:
            return 0
        candidates.sort(key=lambda item: (item[0], item[1].created_at))
        doomed = [m.id for _, m in candidates[:excess]]
        await self.storage.delete_messages(doomed)
        if self.options.semantic_recall is not None and self._index_ready:
            for message_id in doomed:
                try:
                    await self.vector.delete_vector(INDEX, message_id)
                except LookupError:
                    continue  # never indexed (tool messages, empty text)
        return len(doomed)
