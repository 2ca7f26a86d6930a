"""Descriptions from docstrings: the summary, and per-parameter text from Google
(``Args:``), NumPy (``Parameters`` with dashes) and reST (``:param name:``) sections."""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]

_GOOGLE_HEADER = re.compile(r"^(Args|Arguments|Parameters|Params):\s*$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(:.*)?$")
_REST_ITEM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SECTION = re.compile(r"^(Returns?|Yields?|Raises?|Examples?|Notes?|See Also|Attributes)\s*:?\s*$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(summary, {parameter: description}) of a docstring; ("", {}) for none."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary_lines: list[str] = []
    for line in lines:
        if not line.strip() or _GOOGLE_HEADER.match(line.strip()) or line.startswith(":"):
            break
        summary_lines.append(line.strip())
    params = _google(lines) or _numpy(lines) or _rest(lines)
    return " ".join(summary_lines), params


def _google(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    inside, current, indent, params_indent = False, None, 0, 0
    for line in lines:
        stripped = line.strip()
        if _GOOGLE_HEADER.match(stripped):
            inside, indent = True, len(line) - len(line.lstrip())
            continue
        if not inside:
            continue
        depth = len(line) - len(line.lstrip())
        if stripped and depth <= indent:
            break  # the next section
        item = _GOOGLE_ITEM.match(stripped)
        if item and (current is None or depth <= params_indent):
            current = item.group(1).lstrip("*")
            params_indent = depth
            params[current] = item.group(3).strip()
        elif current and stripped:
            params[current] = f"{params[current]} {stripped}".strip()
    return params


def _numpy(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for i, line in enumerate(lines[:-1]):
        if line.strip() in ("Parameters", "Arguments") and set(lines[i + 1].strip()) == {"-"}:
            current = None
            for body in lines[i + 2 :]:
                stripped = body.strip()
                if _SECTION.match(stripped) or (stripped and set(stripped) == {"-"}):
                    break
                if stripped and not body.startswith((" ", "\t")):
                    item = _NUMPY_ITEM.match(stripped)
                    current = item.group(1) if item else None
                    if current:
                        params[current] = ""
                elif current and stripped:
                    params[current] = f"{params[current]} {stripped}".strip()
            break
    return params


def _rest(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    current = None
    for line in lines:
        stripped = line.strip()
        item = _REST_ITEM.match(stripped)
        if item:
            current = item.group(1)
            params[current] = item.group(2).strip()
        elif stripped.startswith(":"):
            current = None
        elif current and stripped:
            params[current] = f"{params[current]} {stripped}"
    return params
