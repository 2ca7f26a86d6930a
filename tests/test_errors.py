import builtins

import pytest

import mastra
from mastra import errors


def test_every_error_is_a_mastra_error_and_exported():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, mastra.MastraError)
        assert getattr(mastra, name) is cls


def test_the_two_service_branches():
    """Answers with an error status are ProviderErrors; failures with no usable answer (a
    provider's or a database's) are TransportErrors; both are ServiceErrors."""
    for cls in (
        errors.RateLimitError,
        errors.AuthenticationError,
        errors.ServerError,
        errors.BadRequestError,
        errors.ContextLengthError,
    ):
        assert issubclass(cls, errors.ProviderError)
        assert not issubclass(cls, errors.TransportError)
    for cls in (
        errors.TimeoutError,
        errors.ConnectionError,
        errors.StreamError,
        errors.EventTooLargeError,
    ):
        assert issubclass(cls, errors.TransportError)
        assert not issubclass(cls, errors.ProviderError)
    assert issubclass(errors.ProviderError, errors.ServiceError)
    assert issubclass(errors.TransportError, errors.ServiceError)
    assert issubclass(errors.TimeoutError, builtins.TimeoutError)
    assert issubclass(errors.ConnectionError, builtins.ConnectionError)
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.WorkflowValidationError, errors.ValidationError)
    assert issubclass(errors.WorkflowValidationError, errors.WorkflowError)
    assert issubclass(errors.WorkflowGraphError, errors.WorkflowError)


def test_map_exceptions_translates_only_what_it_is_told():
    table = {
        builtins.TimeoutError: errors.TimeoutError,
        OSError: lambda text: errors.ConnectionError(text, provider="db"),
    }
    with (
        pytest.raises(errors.TimeoutError, match="reading rows: took too long") as caught,
        errors.map_exceptions(table, "reading rows"),
    ):
        raise builtins.TimeoutError("took too long")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with (
        pytest.raises(errors.ConnectionError, match="reading rows: refused") as caught,
        errors.map_exceptions(table, "reading rows"),
    ):
        raise ConnectionRefusedError("refused")  # an OSError: the first match wins
    assert caught.value.provider == "db"
    with pytest.raises(KeyError), errors.map_exceptions(table, "reading rows"):
        raise KeyError("x")  # not in the table: unchanged
    own = errors.StorageError("already ours")
    with (
        pytest.raises(errors.StorageError) as caught,
        errors.map_exceptions({Exception: errors.TimeoutError}, "x"),
    ):
        raise own
    assert caught.value is own


def test_provider_error_message_carries_status_and_request_id():
    exc = errors.RateLimitError("slow down", provider="openai", request_id="req_1", retry_after=2.0)
    assert exc.status == 429 and exc.retry_after == 2.0
    assert str(exc) == "slow down (provider=openai, status=429, request_id=req_1)"
    with pytest.raises(errors.ProviderError):
        raise exc


def test_not_found_renders_plainly():
    assert str(errors.NotFoundError("unknown agent 'x'")) == "unknown agent 'x'"
