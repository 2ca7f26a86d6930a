"""The HTTP layer every provider rests on: a pooled, retrying aiohttp client."""

from mastra.http.client import HttpClient, HttpResponse
from mastra.http.policy import (
    RETRY_STATUSES,
    RetryPolicy,
    Timeouts,
    is_retryable_status,
    parse_retry_after,
)

__all__ = [
    "RETRY_STATUSES",
    "HttpClient",
    "HttpResponse",
    "RetryPolicy",
    "Timeouts",
    "is_retryable_status",
    "parse_retry_after",
]
