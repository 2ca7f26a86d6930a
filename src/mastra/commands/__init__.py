"""The ``mastra`` command's subcommands, one module per area. Each module only declares its
arguments at import; what a command runs is imported when it runs, so ``mastra --help`` and
every command start without loading the areas they do not use."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

from mastra.errors import ConfigError

if TYPE_CHECKING:
    from mastra.mastra import Mastra

__all__ = ["load_app", "load_object"]


def load_object(spec: str) -> Any:
    """The object ``MODULE:ATTR`` names (``ATTR`` may be dotted), importing ``MODULE`` from
    the current folder as ``python -m`` would; ConfigError saying what is wrong."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"expected MODULE:ATTR (e.g. app:mastra), got {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        value: Any = import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(value, part):
            raise ConfigError(f"{module_name!r} has no attribute {attr!r}")
        value = getattr(value, part)
    return value


def load_app(spec: str) -> Mastra:
    """The :class:`~mastra.Mastra` that ``MODULE:ATTR`` names (``ATTR`` may also be a function
    that makes one)."""
    from mastra.mastra import Mastra

    target = load_object(spec)
    if callable(target) and not isinstance(target, Mastra):
        target = target()
    if not isinstance(target, Mastra):
        raise ConfigError(f"{spec} is {type(target).__name__}, not a mastra.Mastra")
    return target
