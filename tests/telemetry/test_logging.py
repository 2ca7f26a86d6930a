import io
import json
import logging

import pytest

from mastra import ConfigError
from mastra.telemetry import Redactor, Tracer, configure_logging, get_logger

SECRET = "sk-test-0123456789abcdefghij"


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_extras_level_and_no_secret(monkeypatch):
    monkeypatch.setenv("ACME_API_KEY", "plain-looking-value-42")
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    log = get_logger("agent")
    log.debug("hidden")
    log.info(
        "calling with %s",
        "plain-looking-value-42",
        extra={"api_key": "x", "model": "m", "note": f"k={SECRET}"},
    )
    [entry] = lines(stream)
    assert entry["level"] == "INFO" and entry["logger"] == "mastra.agent"
    assert entry["model"] == "m"
    assert "plain-looking-value-42" not in stream.getvalue()
    assert SECRET not in stream.getvalue()
    assert entry["api_key"] == "[REDACTED]"


def test_exception_text_is_redacted():
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream, redactor=Redactor(env={}))
    try:
        raise RuntimeError(f"bad key {SECRET}")
    except RuntimeError:
        get_logger().exception("failed")
    [entry] = lines(stream)
    assert "RuntimeError" in entry["exc"]
    assert SECRET not in stream.getvalue()


def test_log_lines_carry_the_active_span():
    stream = io.StringIO()
    configure_logging(stream=stream)
    tracer = Tracer()
    with tracer.span("work") as span:
        get_logger().warning("inside")
    [entry] = lines(stream)
    assert entry["trace_id"] == span.trace_id and entry["span_id"] == span.span_id


def test_text_format_and_reconfiguring_replaces_the_handler():
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    configure_logging(format="text", stream=second)
    get_logger().error("token %s", SECRET)
    assert first.getvalue() == ""
    assert "ERROR mastra: token [REDACTED]" in second.getvalue()
    handlers = logging.getLogger("mastra").handlers
    assert sum(isinstance(h, logging.StreamHandler) for h in handlers) == 1


def test_bad_logging_settings():
    with pytest.raises(ConfigError, match="expected 'json' or 'text'"):
        configure_logging(format="xml")
    with pytest.raises(ConfigError, match="log level 'LOUD'"):
        configure_logging("LOUD")
