"""Eval data: items from a list (of ``EvalItem``s, dicts or plain inputs), a JSONL file, a
CSV file or a JSON array file."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import orjson

from mastra.errors import ValidationError

__all__ = ["EvalItem", "load_dataset"]

_FIELDS = ("input", "expected", "context", "id")


class EvalItem(msgspec.Struct, frozen=True, kw_only=True):
    """One case: what the target gets (``input``), what a good answer is (``expected``),
    the retrieved ``context`` judges may check against, an ``id`` to match items across
    reports, and free ``metadata``."""

    input: Any
    expected: Any = None
    context: list[str] | None = None
    id: str | None = None
    metadata: dict[str, Any] = {}


def _context(value: Any, where: str) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return [value]
        value = parsed if isinstance(parsed, list) else [value]
    if not isinstance(value, list):
        raise ValidationError(f"{where}: context must be a list of texts, got {value!r}")
    return [v if isinstance(v, str) else orjson.dumps(v).decode() for v in value]


def _item(value: Any, where: str) -> EvalItem:
    if isinstance(value, EvalItem):
        return value
    if not isinstance(value, Mapping):
        return EvalItem(input=value)
    if "input" not in value:
        raise ValidationError(f"{where} has no 'input'; expected an object with 'input'")
    item_id = value.get("id")
    return EvalItem(
        input=value["input"],
        expected=value.get("expected"),
        context=_context(value.get("context"), where),
        id=None if item_id in (None, "") else str(item_id),
        metadata={
            **dict(value.get("metadata") or {}),
            **{k: v for k, v in value.items() if k not in (*_FIELDS, "metadata")},
        },
    )


def _csv_value(text: str) -> Any:
    """A CSV cell: JSON when it parses as a JSON object, list or quoted string, else text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[", '"'):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError:
            pass
    return text


def _read_file(path: Path) -> list[Any]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            return [{k: _csv_value(v or "") for k, v in row.items() if k} for row in rows]
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read eval data {path}: {exc.strerror or exc}") from None
    if suffix == ".jsonl":
        values = []
        for number, line in enumerate(data.splitlines(), 1):
            if line.strip():
                try:
                    values.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ValidationError(f"{path}:{number} is not JSON: {exc}") from None
        return values
    if suffix == ".json":
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"{path} is not JSON: {exc}") from None
        if not isinstance(parsed, list):
            raise ValidationError(f"{path} must hold a JSON array of items")
        return parsed
    raise ValidationError(f"eval data {path} must be .jsonl, .csv or .json")


def load_dataset(source: str | os.PathLike[str] | Iterable[Any]) -> list[EvalItem]:
    """The items of ``source``: a path to a ``.jsonl``, ``.csv`` or ``.json`` file, or an
    iterable of ``EvalItem``s, dicts (``input`` required; ``expected``, ``context``, ``id``,
    ``metadata``; other keys go to metadata) or plain inputs. CSV cells holding JSON
    (objects, lists, quoted strings) are decoded; a ``context`` cell may be a JSON list."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        values: Iterable[Any] = _read_file(path)
        label = str(path)
    else:
        values, label = source, "item"
    items = [_item(value, f"{label} #{i}") for i, value in enumerate(values, 1)]
    if not items:
        raise ValidationError(f"no eval items in {label if label != 'item' else 'the data'}")
    return items
