"""Server-Sent Events: the compiled incremental decoder and an iterator over aiohttp responses.

>>> decoder = SSEDecoder()
>>> decoder.feed(b"data: hello\\n\\n")
[ServerSentEvent(event='message', data='hello', id='', retry=None)]
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from mastra._native._sse import ServerSentEvent, SSEDecoder
from mastra.errors import StreamError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["SSEDecoder", "ServerSentEvent", "aiter_sse"]


async def aiter_sse(
    response: aiohttp.ClientResponse, *, decoder: SSEDecoder | None = None
) -> AsyncIterator[ServerSentEvent]:
    """The events of a streaming aiohttp response, as its bytes arrive.

    A stream that the server ends cleanly in the middle of an event drops that event (the
    specification's rule). A connection that breaks mid-stream raises
    :class:`~mastra.errors.StreamError` after the events received so far were delivered.
    """
    import aiohttp

    decoder = decoder or SSEDecoder()
    delivered = 0
    try:
        async for chunk in response.content.iter_any():
            for event in decoder.feed(chunk):
                delivered += 1
                yield event
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
        raise StreamError(
            f"the event stream broke off after {delivered} events: {exc}",
            status=response.status,
            request_id=response.headers.get("x-request-id") or response.headers.get("request-id"),
        ) from exc
    for event in decoder.close():
        yield event
