"""Server-Sent Events: the compiled incremental decoder and an iterator over aiohttp responses.

>>> decoder = SSEDecoder()
>>> decoder.feed(b"data: hello\\n\\n")
[ServerSentEvent(event='message', data='hello', id='', retry=None)]
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from mastra._native._sse import ServerSentEvent, SSEDecoder
from mastra.errors import EventTooLargeError, StreamError

if TYPE_CHECKING:
    import aiohttp
    from multidict import CIMultiDictProxy

__all__ = ["EventTooLargeError", "SSEDecoder", "ServerSentEvent", "aiter_sse"]


async def aiter_sse(
    response: aiohttp.ClientResponse, *, decoder: SSEDecoder | None = None
) -> AsyncIterator[ServerSentEvent]:
    """The events of a streaming aiohttp response, as its bytes arrive.

    A stream that the server ends cleanly in the middle of an event drops that event (the
    specification's rule). A connection that breaks mid-stream raises
    :class:`~mastra.errors.StreamError` after the events received so far were delivered.

    An event over the decoder's ``max_event_bytes`` ends the iteration too: the other events of
    the chunk that held it are delivered, in order, then its :class:`EventTooLargeError` is
    raised with the response's status and request id. A model's reply with one event missing
    (a text delta, a piece of tool-call arguments) would be silently wrong, so the iterator
    stops rather than going on; to tolerate such gaps, feed an :class:`SSEDecoder` yourself and
    catch the error, whose decoder state stays valid.
    """
    import aiohttp

    decoder = decoder or SSEDecoder()
    delivered = 0
    try:
        async for chunk in response.content.iter_any():
            events, too_large = _feed(decoder, chunk)
            for event in events:
                delivered += 1
                yield event
            if too_large is not None:
                too_large.status = response.status
                too_large.request_id = _request_id(response.headers)
                raise too_large
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
        raise StreamError(
            f"the event stream broke off after {delivered} events: {exc}",
            status=response.status,
            request_id=_request_id(response.headers),
        ) from exc
    for event in decoder.close():
        yield event


def _feed(
    decoder: SSEDecoder, chunk: bytes
) -> tuple[list[ServerSentEvent], EventTooLargeError | None]:
    """The events ``chunk`` completes, and the error reporting an oversized one among them."""
    try:
        return decoder.feed(chunk), None
    except EventTooLargeError as exc:
        return exc.events, exc


def _request_id(headers: CIMultiDictProxy[str]) -> str | None:
    return headers.get("x-request-id") or headers.get("request-id")
