import builtins

import pytest

import mastra
from mastra import errors


def test_every_error_is_a_mastra_error_and_exported():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, mastra.MastraError)
        assert getattr(mastra, name) is cls


def test_provider_family_shape():
    for cls in (
        errors.RateLimitError,
        errors.AuthenticationError,
        errors.ServerError,
        errors.TimeoutError,
        errors.ConnectionError,
        errors.BadRequestError,
    ):
        assert issubclass(cls, errors.ProviderError)
    assert issubclass(errors.TimeoutError, builtins.TimeoutError)
    assert issubclass(errors.ConnectionError, builtins.ConnectionError)
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)


def test_provider_error_message_carries_status_and_request_id():
    exc = errors.RateLimitError("slow down", provider="openai", request_id="req_1", retry_after=2.0)
    assert exc.status == 429 and exc.retry_after == 2.0
    assert str(exc) == "slow down (provider=openai, status=429, request_id=req_1)"
    with pytest.raises(errors.ProviderError):
        raise exc


def test_not_found_renders_plainly():
    assert str(errors.NotFoundError("unknown agent 'x'")) == "unknown agent 'x'"
