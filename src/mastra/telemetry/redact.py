"""Redaction of secrets in log messages, log attributes and span attributes."""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["REDACTED", "Redactor"]

REDACTED = "[REDACTED]"

# Environment variables whose values are secrets, by the usual naming conventions.
_SECRET_ENV_NAME = re.compile(r"(API_KEY|_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$")
# Attribute / header names whose values are secrets whatever they look like: the last dotted
# segment is (or ends in) a secret word. "access_token" is a secret; "input_tokens" is a count.
_SECRET_KEY_NAME = re.compile(
    r"(?i)(?:^|[.])(?:[\w-]*[_-])?(?:api[_-]?key|apikey|authorization|password|passwd|secret|"
    r"token|credentials?|cookie|private[_-]?key)$"
)
# Values of these types hold no text, so nothing in them can be a secret.
_TEXTLESS = frozenset({int, float, bool, type(None)})
# Well-known token shapes: provider keys and bearer tokens.
_TOKEN_SHAPES = (
    r"\bsk-[A-Za-z0-9_\-]{16,}",  # OpenAI, Anthropic (sk-ant-...), DeepSeek
    r"\bgsk_[A-Za-z0-9]{20,}",  # Groq
    r"\bAIza[0-9A-Za-z_\-]{30,}",  # Google
    r"\b(?i:bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*",  # Authorization: Bearer ...
)
# Values this short are never treated as secrets: redacting "1" or "true" would mangle logs.
_MIN_SECRET_LENGTH = 8


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    """Whether values under ``key`` are secrets (attribute names repeat: decided once)."""
    return _SECRET_KEY_NAME.search(key) is not None


class Redactor:
    """Replaces secrets with ``[REDACTED]``.

    A secret is any value of an environment variable named like a key or token
    (``OPENAI_API_KEY``, ``GITHUB_TOKEN`` ...) or listed in ``env_names``, any literal in
    ``secrets`` or added later with :meth:`add_secret`, and anything shaped like a provider
    key or a bearer token. Attribute values under secret-looking names (``api_key``,
    ``authorization`` ...) are replaced whole.
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        env_names: Iterable[str] = (),
    ) -> None:
        environ = os.environ if env is None else env
        extra_names = set(env_names)
        found = {
            value
            for name, value in environ.items()
            if _SECRET_ENV_NAME.search(name.upper()) or name in extra_names
        }
        self._lock = threading.Lock()
        self._secrets: set[str] = {s for s in (*found, *secrets) if len(s) >= _MIN_SECRET_LENGTH}
        self._pattern = self._compile()

    def add_secret(self, value: str) -> None:
        """Redact ``value`` from now on (a key resolved after start-up, say)."""
        if len(value) < _MIN_SECRET_LENGTH or value in self._secrets:
            return
        with self._lock:
            self._secrets.add(value)
            self._pattern = self._compile()

    def _compile(self) -> re.Pattern[str]:
        literals = [re.escape(s) for s in sorted(self._secrets, key=len, reverse=True)]
        return re.compile("|".join([*literals, *_TOKEN_SHAPES]))

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        if len(text) < _MIN_SECRET_LENGTH:  # shorter than any secret or token shape
            return text
        return self._pattern.sub(REDACTED, text)

    def redact_value(self, key: str, value: Any) -> Any:
        """A copy of an attribute value that is safe to log under ``key``."""
        if _is_secret_key(key):
            return REDACTED
        if type(value) in _TEXTLESS:
            return value
        return self._scrub(value)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {str(k): self.redact_value(str(k), v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._scrub(v) for v in value]
        return value

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"
