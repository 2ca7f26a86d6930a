from mastra.errors import StreamError

class ServerSentEvent:
    event: str
    data: str
    id: str
    retry: int | None
    def __init__(
        self, event: str = "message", data: str = "", id: str = "", retry: int | None = None
    ) -> None: ...

class EventTooLargeError(StreamError):
    events: list[ServerSentEvent]
    skipped: int
    size: int
    limit: int
    def __init__(
        self,
        message: str,
        *,
        events: list[ServerSentEvent] | tuple[ServerSentEvent, ...] = (),
        skipped: int = 1,
        size: int = 0,
        limit: int = 0,
    ) -> None: ...

class SSEDecoder:
    max_event_bytes: int
    def __init__(self, max_event_bytes: int = ...) -> None: ...
    @property
    def last_event_id(self) -> str: ...
    @property
    def retry(self) -> int | None: ...
    @property
    def pending(self) -> bool: ...
    def feed(self, chunk: bytes | bytearray | memoryview) -> list[ServerSentEvent]: ...
    def close(self) -> list[ServerSentEvent]: ...
