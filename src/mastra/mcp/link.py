"""One MCP server's connection, owned by one long-lived task.

The SDK's transports and sessions are anyio context managers: they must be entered and left
by the same task, and a transport that fails cancels the task that entered it. So no caller
ever enters them. A connection is opened by an *owner* task that enters the SDK ``Client``,
publishes it, and waits until the connection ends (the server closed its side, the transport
failed, or ``aclose()``); then it leaves the context in the task that entered it, which stops
the server process and reaps it. Callers, in any task, send requests on the published client;
requests are task-agnostic in the SDK. A connection that ended is dropped at once, so the
next request opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from mastra.errors import (
    ConnectionError,
    MastraError,
    ProviderError,
    TimeoutError,
    ValidationError,
)
from mastra.mcp.config import HttpServer, ServerSpec, StdioServer

if TYPE_CHECKING:
    from mcp import Client, MCPError
    from mcp.client import Transport
    from pydantic import ValidationError as BadShape

__all__ = ["Link", "require_sdk"]

T = TypeVar("T")
log = logging.getLogger("mastra.mcp")

_STDERR_TAIL = 2000  # characters of a server's stderr kept for error reports
_WIND_DOWN = 5.0  # seconds a failed request waits for the ended connection's report


def require_sdk() -> None:
    """Import the MCP SDK, or say how to install it."""
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise MastraError(
            f"mastra.mcp needs the MCP SDK ({exc}); install it with: pip install 'mastra[mcp]'"
        ) from None


class _Stderr:
    """A stdio server's stderr: a pipe whose last characters are kept for error reports and
    whose lines are logged at DEBUG on the ``mastra.mcp`` logger."""

    def __init__(self, name: str) -> None:
        self.name = name
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.writer = os.fdopen(write_fd, "w")  # the child's stderr; ours closes once spawned
        self.tail = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.writer.close()
        self._task = asyncio.create_task(self._pump(), name=f"mcp-stderr:{self.name}")

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream), self.reader
        )
        try:
            while chunk := await stream.read(4096):
                text = chunk.decode(errors="replace")
                self.tail = (self.tail + text)[-_STDERR_TAIL:]
                for line in text.splitlines():
                    log.debug("[%s] %s", self.name, line)
        finally:
            transport.close()

    async def finish(self, timeout: float) -> None:
        """Read what the ended process wrote last (bounded: a grandchild may hold the pipe)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            self._task.cancel()
        self.writer.close()
        self.reader.close()

    def report(self) -> str:
        tail = self.tail.strip()
        return f"; its stderr ended with:\n{tail[-800:]}" if tail else ""


@functools.cache
def _stream_ends() -> tuple[type[Exception], ...]:
    """How an anyio stream says it ended (the end of stream first)."""
    import anyio

    return (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError)


@functools.cache
def _failures() -> tuple[type[MCPError], type[BadShape]]:
    """The SDK's error answer, and pydantic's error for an answer of the wrong shape."""
    from mcp import MCPError
    from pydantic import ValidationError

    return MCPError, ValidationError


class _Watched:
    """The transport's read stream, unchanged, except that its end (the server closed its
    side) is reported at once, and messages that are not JSON-RPC are counted."""

    def __init__(self, inner: Any, session: _Session, on_end: Callable[[], None]) -> None:
        self._inner, self._session, self._on_end = inner, session, on_end

    @property
    def last_context(self) -> Any:  # the HTTP stream carries the sender's contextvars
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            item = await self._inner.receive()
        except _stream_ends():
            self._on_end()
            raise
        if isinstance(item, Exception):  # the SDK logs and skips it; a timeout report names it
            self._session.garbage += 1
            self._session.last_garbage = _garbage(item)
        return item

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except _stream_ends()[0]:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Watched:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def _watched(
    transport: Transport, session: _Session, on_end: Callable[[], None]
) -> AsyncIterator[Any]:
    async with transport as (read, write):
        yield _Watched(read, session, on_end), write


def _garbage(exc: Exception) -> str:
    """What was wrong with a message that is not JSON-RPC, and its beginning."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        return f"{first['msg']} in {str(first.get('input', ''))[:120]!r}"
    return str(exc)[:200]


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    leaf = _leaf(exc)
    return f"{type(leaf).__name__}: {leaf}".rstrip(": ")


class _Session:
    """One opened connection: its SDK client, the event that ends it, and why it ended."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.ended = asyncio.Event()
        self.reason = ""  # why it ended, when something else than the server ended it
        self.stderr: _Stderr | None = None
        self.owner: asyncio.Task[None] | None = None
        self.garbage = 0  # messages received that were not JSON-RPC
        self.last_garbage = ""

    def garbage_report(self) -> str:
        if not self.garbage:
            return ""
        return (
            f"; it sent {self.garbage} message(s) that are not valid JSON-RPC, the last: "
            f"{self.last_garbage}"
        )


class Link:
    """The connection to one named server: opened on first use, reopened after it ended,
    closed by :meth:`aclose`."""

    def __init__(self, name: str, spec: ServerSpec) -> None:
        self.name, self.spec = name, spec
        self._session: _Session | None = None
        self._opening: asyncio.Future[_Session] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owners: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- requests ---------------------------------------------------------------------------

    async def request(
        self, what: str, send: Callable[[Client], Awaitable[T]], timeout: float | None = None
    ) -> T:
        """``send(client)`` on the open connection (opened first if needed); SDK failures
        become Mastra errors naming this server and ``what`` was asked."""
        mcp_error, bad_shape = _failures()
        session = await self.session()
        assert session.client is not None
        try:
            return await send(session.client)
        except mcp_error as exc:
            raise await self._error(session, what, exc, timeout) from None
        except bad_shape as exc:
            raise ProviderError(
                f"MCP server {self.name!r} sent a malformed answer to {what}: "
                f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']} at "
                f"{'.'.join(map(str, exc.errors()[0]['loc'])) or 'the top'}",
                provider="mcp",
            ) from None

    async def _error(
        self, session: _Session, what: str, exc: Any, timeout: float | None
    ) -> MastraError:
        from mcp_types import CONNECTION_CLOSED, INVALID_PARAMS, REQUEST_TIMEOUT

        where = f"MCP server {self.name!r}"
        if exc.code == REQUEST_TIMEOUT:
            limit = timeout if timeout is not None else self.spec.timeout
            return TimeoutError(
                f"{where} did not answer {what} within {limit:g} s{session.garbage_report()}"
            )
        if exc.code == CONNECTION_CLOSED:
            await self._ended(session)
            reason = f" ({session.reason})" if session.reason else ""
            report = session.stderr.report() if session.stderr is not None else ""
            return ConnectionError(
                f"{where} closed the connection during {what}{reason}; it is connected again "
                f"on the next call{report}"
            )
        if exc.code == INVALID_PARAMS:
            return ValidationError(f"{where} rejected the arguments of {what}: {exc.message}")
        return ProviderError(
            f"{where} answered {what} with error {exc.code}: {exc.message}", provider="mcp"
        )

    async def _ended(self, session: _Session) -> None:
        """End ``session`` (a request saw it close) and wait, bounded, until its owner has
        recorded why (and read the server's last words on stderr)."""
        self._drop(session)
        if session.owner is not None and not session.owner.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(session.owner), _WIND_DOWN)

    # -- opening and ending -----------------------------------------------------------------

    async def session(self) -> _Session:
        """The open connection, opening it if there is none (concurrent callers share one
        attempt; a failed attempt is not remembered, so the next call tries again)."""
        session = self._session
        loop = asyncio.get_running_loop()
        if session is not None and self._loop is loop:
            return session
        if self._closed:
            raise ConnectionError(f"the MCPClient of server {self.name!r} is closed")
        if self._loop is not loop:  # a new event loop: the old loop's tasks ended with it
            self._session, self._opening, self._loop = None, None, loop
            self._owners = {t for t in self._owners if t.get_loop() is loop}
        if self._opening is None:
            self._opening = loop.create_future()
            session = _Session()
            owner = asyncio.create_task(self._own(session, self._opening), name=f"mcp:{self.name}")
            session.owner = owner
            self._owners.add(owner)
            owner.add_done_callback(self._owners.discard)
        return await asyncio.shield(self._opening)

    def _drop(self, session: _Session) -> None:
        if self._session is session:
            self._session = None
        session.ended.set()

    async def _own(self, session: _Session, opened: asyncio.Future[_Session]) -> None:
        """The owner task: enter the SDK client, publish it, wait for the end, leave."""

        def on_end() -> None:
            self._drop(session)

        try:
            async with self._client(session, on_end) as client:
                session.client = client
                self._session = session
                opened.set_result(session)
                await session.ended.wait()
        except Exception as exc:
            session.reason = _describe(exc)
            if not opened.done():
                opened.set_exception(await self._open_error(session, exc))
            else:
                log.warning("MCP server %r: the connection ended: %s", self.name, session.reason)
        finally:
            self._drop(session)
            if self._opening is opened:
                self._opening = None
            if session.stderr is not None:
                await session.stderr.finish(1.0)

    async def _open_error(self, session: _Session, exc: Exception) -> MastraError:
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        leaf = _leaf(exc)
        if isinstance(leaf, MCPError) and leaf.code == REQUEST_TIMEOUT:
            return TimeoutError(
                f"MCP server {self.name!r} did not finish the handshake within "
                f"{self.spec.timeout:g} s"
            )
        if isinstance(leaf, MCPError) and leaf.code == CONNECTION_CLOSED:
            problem = "the server closed the connection during the handshake"
        else:
            problem = _describe(exc)
        report = ""
        if session.stderr is not None:
            await session.stderr.finish(1.0)
            report = session.stderr.report()
        return ConnectionError(
            f"cannot connect to MCP server {self.name!r} ({self._target()}): {problem}{report}"
        )

    def _target(self) -> str:
        """What was started or reached; a command's arguments are left out (they may hold
        credentials), and so are a URL's user, query and fragment."""
        if isinstance(self.spec, StdioServer):
            return f"command {self.spec.command!r}"
        url = urllib.parse.urlsplit(self.spec.url)
        return f"{url.scheme}://{url.hostname}{f':{url.port}' if url.port else ''}{url.path}"

    @contextlib.asynccontextmanager
    async def _client(self, session: _Session, on_end: Callable[[], None]) -> AsyncIterator[Client]:
        from mcp import Client, Implementation

        from mastra import __version__

        async with contextlib.AsyncExitStack() as stack:
            transport = await self._transport(session, stack)
            client = Client(
                _watched(transport, session, on_end),
                read_timeout_seconds=self.spec.timeout,
                client_info=Implementation(name="mastra", version=__version__),
            )
            yield await stack.enter_async_context(client)

    async def _transport(self, session: _Session, stack: contextlib.AsyncExitStack) -> Transport:
        spec = self.spec
        if isinstance(spec, HttpServer):
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=spec.headers,
                    timeout=httpx2.Timeout(30.0, read=max(300.0, spec.timeout)),
                )
            )
            return streamable_http_client(spec.url, http_client=http)
        from mcp import StdioServerParameters, stdio_client

        session.stderr = stderr = _Stderr(self.name)
        parameters = StdioServerParameters(
            command=spec.command,
            args=list(spec.args),
            env=spec.env,
            cwd=spec.cwd,
        )
        return _spawned(stdio_client(parameters, errlog=stderr.writer), stderr)

    async def aclose(self) -> None:
        """End the connection and wait until every server process it started has exited."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            session.reason = "the MCPClient was closed"
            session.ended.set()
        opening = self._opening
        loop = asyncio.get_running_loop()
        owners = [t for t in self._owners if t.get_loop() is loop]
        if opening is not None and not opening.done():
            await asyncio.gather(opening, return_exceptions=True)
            if self._session is not None:
                self._session.ended.set()
        await asyncio.gather(*owners, return_exceptions=True)


@contextlib.asynccontextmanager
async def _spawned(transport: Transport, stderr: _Stderr) -> AsyncIterator[Any]:
    """The stdio transport, with the stderr pipe read once the process is started."""
    async with transport as streams:
        stderr.start()
        yield streams
