"""API keys: from the argument or the provider's environment variables, resolved at first
use (so a missing key is an error when a call is made, never at import)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from mastra.errors import AuthenticationError

__all__ = ["resolve_key"]


def resolve_key(
    provider: str, api_key: str | None, env_vars: Sequence[str], *, required: bool = True
) -> str | None:
    """The key to use, or AuthenticationError naming where it was looked for."""
    if api_key:
        return api_key
    for name in env_vars:
        value = os.environ.get(name)
        if value:
            return value
    if not required:
        return None
    where = " or ".join(env_vars) if env_vars else "api_key="
    raise AuthenticationError(
        f"no API key for {provider}: set {where} in the environment or pass api_key=",
        provider=provider,
    )
