"""``SQLiteStorage``: the embedded default. One worker thread owns the connection, so the
event loop never waits on the disk; WAL lets other processes read and write the same file."""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mastra.errors import ErrorMapping, MastraError, StorageError, TimeoutError, map_exceptions
from mastra.storage import sql
from mastra.storage.sqlbase import Guard, SqlStorage, Statement, refused_write
from mastra.storage.sqlqueue import Program, one_statement

__all__ = ["SQLiteStorage", "SQLiteWorker"]

T = TypeVar("T")
_STOP = object()
_CHUNK = 32  # rows between the worker's checks whether the event loop is due a turn
_TURN = 0.0003  # seconds of worker time between turns handed to the waiting event loop
_TURN_WAIT = 0.005  # the longest the worker waits for that turn (a busy or blocked loop)
_AUTOCHECKPOINT = 1000  # SQLite's default: checkpoint the WAL past this many pages
_HERE_EVERY = 64  # run_here sends one call in this many to the worker (its checkpoints)
_HERE_BYTES = 16 * 1024  # the most text a write run on the event loop's thread may carry


class _Queue(Exception):
    """run_here's write has to go to the worker's queue after all."""


class SQLiteWorker:
    """A thread with one SQLite connection that runs submitted functions in order.

    :meth:`run_here` lets a small write skip the thread hop: when nothing is queued it runs
    on the caller's thread, holding the connection (the worker takes the same lock for each
    job) with a zero busy timeout and no auto-checkpoint, so the caller never waits on
    another connection's lock or on a checkpoint's fsyncs; otherwise it goes to the queue.
    """

    def __init__(self, path: str, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._error: BaseException | None = None
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # held by whoever uses the connection
        self._counting = threading.Lock()
        self._pending = 0  # jobs queued or running (under _counting)
        self._here = False  # the connection is set up for run_here (under _lock)
        self._here_streak = 0
        self._thread = threading.Thread(
            target=self._loop,
            name=f"mastra-sqlite:{Path(path).name}",
            daemon=True,
        )
        self._thread.start()
        self._connected.wait()
        if self._error is not None:
            raise StorageError(f"cannot open SQLite database {path}: {self._error}")

    def _loop(self) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            self._error = exc
            self._connected.set()
            return
        self._connection = connection
        self._connected.set()
        while True:
            job = self._jobs.get()
            if job is _STOP:
                with self._lock:
                    self._connection = None
                    connection.close()
                return
            fn, loop, future = job
            result, error = None, None
            with self._lock:
                _turns.loop, _turns.since = loop, time.perf_counter()
                try:
                    self._set_up(connection, here=False)
                    result = fn(connection)
                except BaseException as exc:  # handed to the awaiting coroutine
                    error = exc
                _turns.loop = None
            with self._counting:
                self._pending -= 1  # before the caller resumes: its next write may run here
            loop.call_soon_threadsafe(_settle, future, result, error)
            del job, fn, result, error

    def _set_up(self, connection: sqlite3.Connection, *, here: bool) -> None:
        """Switch the connection between the worker's settings (the busy timeout, SQLite's
        auto-checkpoint) and run_here's (neither), when it is not already so."""
        if self._here != here:
            busy, checkpoint = (0, 0) if here else (self._busy_timeout_ms, _AUTOCHECKPOINT)
            connection.execute(f"PRAGMA busy_timeout = {busy}")
            connection.execute(f"PRAGMA wal_autocheckpoint = {checkpoint}")
            self._here = here

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._thread.is_alive():
            raise StorageError(f"SQLite database {self.path} is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._counting:
            self._pending += 1
        self._jobs.put((fn, loop, future))
        return await future

    async def run_here(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``run(fn)`` for a short write, run on this thread when the worker is idle and no
        other connection holds the write lock, else queued. Every _HERE_EVERY-th call is
        queued anyway: that commit lets SQLite checkpoint the WAL, on the worker's thread."""
        self._here_streak = (self._here_streak + 1) % _HERE_EVERY
        if self._here_streak and self._pending == 0:
            try:
                result = self._try_here(fn)
            except _Queue:
                pass
            else:
                await asyncio.sleep(0)  # the loop's other tasks (heartbeats, cancels) run
                return result
        return await self.run(fn)

    async def read_here(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``run(fn)`` for a read of a few rows: on this thread when the worker is idle (a WAL
        reader waits on no writer; a rare busy answer sends it to the queue), else queued."""
        if self._pending == 0:
            try:
                return self._try_here(fn)
            except _Queue:
                pass
        return await self.run(fn)

    def _try_here(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """fn's result, run on this thread holding the connection; _Queue when it must be
        queued: the worker has the connection or a job came in meanwhile, or another
        connection holds the write lock (fn rolled back what it began)."""
        if not self._lock.acquire(blocking=False):
            raise _Queue
        try:
            connection = self._connection
            if connection is None or self._pending:
                raise _Queue
            self._set_up(connection, here=True)
            try:
                return fn(connection)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise _Queue from None
        finally:
            self._lock.release()

    def close(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(_STOP)
            self._thread.join()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _Turns(threading.local):
    """On the worker's thread, the event loop waiting on the job it runs (and since when
    the worker has had the GIL); None on any other thread."""

    loop: asyncio.AbstractEventLoop | None = None
    since = 0.0


_turns = _Turns()


def let_loop_run() -> None:
    """On the worker's thread, once it has worked _TURN seconds: wait until the event loop
    waiting on this job has run what was ready (at most _TURN_WAIT). Only letting go of the
    GIL is not enough: the worker takes it straight back, and the loop's thread, woken by
    a timer, waits for a whole switch interval (5 ms) before Python forces a hand-over."""
    loop = _turns.loop
    if loop is None or time.perf_counter() - _turns.since < _TURN:
        return
    turn = threading.Event()
    try:
        loop.call_soon_threadsafe(turn.set)
    except RuntimeError:  # the loop has closed: nobody to wait for
        return
    turn.wait(_TURN_WAIT)
    _turns.since = time.perf_counter()


def yielding_map(fn: Callable[[Any], T], items: Iterable[Any], every: int = _CHUNK) -> list[T]:
    """``[fn(x) for x in items]`` on the worker thread, handing the event loop its turns
    (:func:`let_loop_run`) as it goes."""
    out: list[T] = []
    for count, item in enumerate(items, 1):
        out.append(fn(item))
        if count % every == 0:
            let_loop_run()
    return out


def transaction(
    connection: sqlite3.Connection, statements: list[Statement], guard: Guard | None = None
) -> bool:
    """Run statements atomically (BEGIN IMMEDIATE takes the write lock up front); False, with
    nothing written, when the guard statement changes no row."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        if guard is not None and connection.execute(*guard).rowcount == 0:
            connection.execute("ROLLBACK")
            return False
        for query, params, many in statements:
            if not many:
                connection.execute(query, params)
                continue
            for start in range(0, len(params), _CHUNK):
                if start:
                    let_loop_run()
                connection.executemany(query, params[start : start + _CHUNK])
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return True


def run_program(connection: sqlite3.Connection, program: Program[T]) -> T:
    """Drive a :data:`Program` in one transaction on this thread."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        statement = next(program)
        while True:
            rows = connection.execute(*statement).fetchall()
            statement = program.send(rows)
    except StopIteration as done:
        connection.execute("COMMIT")
        return done.value  # type: ignore[no-any-return]
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the forward migrations this file lacks; returns the schema version."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS mastra_schema (version INTEGER NOT NULL)")
        row = connection.execute("SELECT max(version) FROM mastra_schema").fetchone()
        for number, statements in sql.pending_migrations(row[0] or 0, sql.SQLITE):
            for statement in statements:
                connection.execute(statement)
            connection.execute("INSERT INTO mastra_schema (version) VALUES (?)", (number,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return len(sql.MIGRATIONS)


def fits_here(statements: list[Statement]) -> bool:
    """Whether a write is short enough for :meth:`SQLiteWorker.run_here` (the event loop's
    thread): its text and blob values add up to at most _HERE_BYTES."""
    size = 0
    for _, params, many in statements:
        for row in params if many else (params,):
            size += sum(len(value) for value in row if isinstance(value, str | bytes))
    return size <= _HERE_BYTES


def _locked_or_failed(text: str) -> MastraError:
    if "locked" in text or "busy" in text:  # busy_timeout ran out waiting for the lock
        return TimeoutError(text, provider="sqlite")
    return StorageError(text)


_ERRORS: ErrorMapping = {sqlite3.OperationalError: _locked_or_failed, sqlite3.Error: StorageError}
_WRITE_ERRORS: ErrorMapping = {sqlite3.IntegrityError: refused_write, **_ERRORS}


class SQLiteStorage(SqlStorage):
    """Storage in one SQLite file (``":memory:"`` for a private in-process database).

    WAL journal, ``synchronous=NORMAL`` (a committed write survives a process crash),
    foreign keys on, a busy timeout (``busy_timeout`` seconds, 10 by default) so several
    processes can share the file — waiting longer for another's lock is a
    :class:`~mastra.errors.TimeoutError` — and schema versioning with forward migrations on
    :meth:`init`.
    """

    dialect = sql.SQLITE

    def __init__(
        self, path: str | os.PathLike[str] = "mastra.db", *, busy_timeout: float = 10.0
    ) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self._worker: SQLiteWorker | None = None

    async def init(self) -> None:
        if self._worker is None:
            if self.path != ":memory:":
                try:
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageError(
                        f"cannot create the folder for {self.path}: {exc.strerror or exc}"
                    ) from None
            self._worker = SQLiteWorker(self.path, busy_timeout_ms=int(self.busy_timeout * 1000))
            await self._worker.run(migrate)

    async def aclose(self) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            await asyncio.to_thread(worker.close)

    async def _ready(self) -> SQLiteWorker:
        if self._worker is None:
            await self.init()
        assert self._worker is not None
        return self._worker

    async def _read(
        self, query: str, params: Sequence[Any], row: Callable[[Sequence[Any]], T]
    ) -> list[T]:
        worker = await self._ready()
        with map_exceptions(_ERRORS, f"SQLite error on {self.path}"):
            return await worker.run(lambda c: yielding_map(row, c.execute(query, params)))

    async def _write(
        self, build: Callable[[], list[Statement]], *, guard: Guard | None = None
    ) -> bool:
        worker = await self._ready()
        with map_exceptions(_WRITE_ERRORS, f"SQLite refused the write to {self.path}"):
            return await worker.run(lambda c: transaction(c, build(), guard))

    async def _write_now(self, statements: list[Statement], guard: Guard | None) -> bool:
        worker = await self._ready()
        with map_exceptions(_WRITE_ERRORS, f"SQLite refused the write to {self.path}"):
            if fits_here(statements):
                return await worker.run_here(lambda c: transaction(c, statements, guard))
            return await worker.run(lambda c: transaction(c, statements, guard))

    async def _transact(self, program: Callable[[], Program[T]]) -> T:
        worker = await self._ready()
        with map_exceptions(_WRITE_ERRORS, f"SQLite refused the write to {self.path}"):
            return await worker.run(lambda c: run_program(c, program()))

    async def _small_statement(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        worker = await self._ready()
        with map_exceptions(_WRITE_ERRORS, f"SQLite refused the write to {self.path}"):
            return await worker.run_here(lambda c: run_program(c, one_statement(query, params)))

    def _map(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        return yielding_map(fn, items)  # runs on the worker thread

    def __repr__(self) -> str:
        return f"SQLiteStorage({self.path!r})"
