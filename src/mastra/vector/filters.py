"""Mongo-style metadata filters, evaluated to a row mask over per-key value indexes.

Semantics (every backend implements these):

- ``{"key": value}`` and ``{"key": {"$eq": value}}`` match rows whose ``key`` equals
  ``value``; when the stored value is a list, also when the list contains ``value``.
  Numbers compare by value (``1 == 1.0``); booleans are not numbers.
- ``$ne`` / ``$nin`` are the negations of ``$eq`` / ``$in``: rows without the key match.
- ``$gt $gte $lt $lte`` compare numbers with numbers and strings with strings; other types,
  and rows without the key, do not match. A list matches when any element does.
- ``$in`` / ``$nin`` take a list. ``$exists: true`` matches rows that have the key (even null).
- ``$and`` / ``$or`` take a list of filters; ``$not`` takes a filter (top level) or an
  operator object (``{"price": {"$not": {"$gt": 5}}}``).
- Dotted keys reach into nested objects: ``{"author.name": "Ada"}``.
- An object whose keys are all operator names without the ``$`` (``{"year": {"gt": 2020}}``)
  is a ValidationError, not an object to compare with: to match such an object, write
  ``{"$eq": {...}}``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from mastra.errors import ValidationError
from mastra.vector.base import json_bytes

__all__ = [
    "FIELD_OPERATORS",
    "LOGICAL_OPERATORS",
    "MetadataTable",
    "is_operator_object",
    "validate_filter",
]

FIELD_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$not")
LOGICAL_OPERATORS = ("$and", "$or", "$not")
_BARE_OPERATORS = {op[1:]: op for op in FIELD_OPERATORS}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}

Mask = npt.NDArray[np.bool_]
HKey = tuple[str, Any]


def value_key(value: Any) -> HKey:
    """A hashable key under which equal values meet: numbers by value, bools apart."""
    if value is None:
        return ("z", None)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    return ("j", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def flatten(metadata: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every path of a metadata object: {"a": {"b": 1}} -> {"a": {...}, "a.b": 1}."""
    flat: dict[str, Any] = {}
    for key, value in metadata.items():
        path = f"{prefix}{key}"
        flat[path] = value
        if _nests(value):
            flat.update(flatten(value, path + "."))
    return flat


# Types that are never a Mapping: checked by identity before the (slower) ABC isinstance.
_LEAVES = frozenset({str, int, float, bool, type(None), list})


def _nests(value: object) -> bool:
    kind = type(value)
    return kind is dict or (kind not in _LEAVES and isinstance(value, Mapping))


def flat_view(metadata: dict[str, Any]) -> dict[str, Any]:
    """``flatten(metadata)``, or ``metadata`` itself when that would be an equal copy: str
    keys and no nested object. The caller must not change what it gets."""
    for key, value in metadata.items():  # _nests inlined: this runs for every stored row
        kind = type(value)
        if (
            type(key) is not str
            or kind is dict
            or (kind not in _LEAVES and isinstance(value, Mapping))
        ):
            return flatten(metadata)
    return metadata


def _keys_of(value: Any) -> set[HKey]:
    keys = {value_key(value)}
    if isinstance(value, list):
        keys.update(value_key(item) for item in value if not isinstance(item, (list, dict)))
    return keys


def validate_filter(spec: object) -> dict[str, Any]:
    """Check a filter's shape once, before any evaluation; ValidationError says what is wrong."""
    if not isinstance(spec, Mapping):
        raise ValidationError(f"a filter must be an object, got {type(spec).__name__}")
    for key, condition in spec.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"filter keys must be non-empty strings, got {key!r}")
        if key in ("$and", "$or"):
            if not isinstance(condition, list) or not condition:
                raise ValidationError(f"{key} takes a non-empty list of filters, got {condition!r}")
            for part in condition:
                validate_filter(part)
        elif key == "$not":
            validate_filter(condition)
        elif key.startswith("$"):
            raise ValidationError(
                f"unknown logical operator {key!r}; expected one of {', '.join(LOGICAL_OPERATORS)}"
                " or a field name"
            )
        else:
            _validate_condition(key, condition)
    return dict(spec)


def is_operator_object(condition: object) -> bool:
    """``{"$gt": 1, ...}``: a condition made of operators, not a value to compare with."""
    return isinstance(condition, Mapping) and any(
        isinstance(k, str) and k.startswith("$") for k in condition
    )


def _did_you_mean(op: object) -> str:
    fixed = _BARE_OPERATORS.get(op) if isinstance(op, str) else None
    return f"; did you mean {fixed}?" if fixed else ""


def _reject_bare_operators(path: str, condition: object) -> None:
    """``{"year": {"gt": 2020}}`` would compare with the object {"gt": 2020} and match nothing;
    an object made only of operator names is taken for the typo it almost surely is."""
    if (
        isinstance(condition, Mapping)
        and condition
        and all(isinstance(k, str) and k in _BARE_OPERATORS for k in condition)
    ):
        first = next(iter(condition))
        raise ValidationError(
            f"filter on {path!r} uses {first!r} without the '$'{_did_you_mean(first)} "
            f"(to match an object with these keys, write {{'$eq': {{...}}}})"
        )


def _validate_condition(path: str, condition: object) -> None:
    if not is_operator_object(condition):
        _reject_bare_operators(path, condition)
        _check_json(path, condition)
        return
    assert isinstance(condition, Mapping)
    for op, operand in condition.items():
        if op not in FIELD_OPERATORS:
            raise ValidationError(
                f"unknown operator {op!r} on {path!r}{_did_you_mean(op)}; expected one of "
                f"{', '.join(FIELD_OPERATORS)}"
            )
        if op in ("$in", "$nin") and not isinstance(operand, list):
            raise ValidationError(f"{op} on {path!r} takes a list, got {operand!r}")
        if op == "$exists" and not isinstance(operand, bool):
            raise ValidationError(f"$exists on {path!r} takes true or false, got {operand!r}")
        if op in _COMPARE and (
            isinstance(operand, bool)
            or not isinstance(operand, (int, float, str))
            or (isinstance(operand, float) and math.isnan(operand))
        ):
            raise ValidationError(f"{op} on {path!r} takes a number or a string, got {operand!r}")
        if op == "$not":
            if not is_operator_object(operand):
                raise ValidationError(
                    f"$not on {path!r} takes an operator object like {{'$gt': 5}}, got {operand!r}"
                )
            _validate_condition(path, operand)
        elif op not in ("$exists",):
            _check_json(path, operand)


def _check_json(path: str, value: object) -> None:
    json_bytes(f"filter value for {path!r}", value)


def _comparable(stored: HKey, operand: Any) -> bool:
    tag = "s" if isinstance(operand, str) else "n"
    return stored[0] == tag


class MetadataTable:
    """Row metadata plus value indexes, built per key on the first filter that uses it and
    kept up to date afterwards. Rows are positions; the owner moves them on deletes."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._flat: list[dict[str, Any]] = []
        self._indexes: dict[str, dict[HKey, set[int]]] = {}
        self._present: dict[str, set[int]] = {}
        # Row arrays of the sets above, made on first use and dropped when a set changes, so
        # that a mask is one indexed store instead of a walk over a Python set.
        self._arrays: dict[tuple[str, HKey | None], npt.NDArray[np.int64]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, metadata: dict[str, Any]) -> None:
        self.extend([metadata])

    def extend(self, metadata: list[dict[str, Any]]) -> None:
        """Append rows (the table keeps these dicts; nobody may change them afterwards)."""
        start = len(self.rows)
        self.rows += metadata
        self._flat += map(flat_view, metadata)
        if self._indexes:
            for row in range(start, len(self.rows)):
                self._index_row(row, add=True)

    def replace(self, row: int, metadata: dict[str, Any]) -> None:
        self._index_row(row, add=False)
        self.rows[row] = metadata
        self._flat[row] = flat_view(metadata)
        self._index_row(row, add=True)

    def move_last_to(self, row: int) -> None:
        """Delete ``row`` by moving the last row into its place."""
        last = len(self.rows) - 1
        self._index_row(row, add=False)
        if row != last:
            self._index_row(last, add=False)
            self.rows[row], self._flat[row] = self.rows[last], self._flat[last]
            self.rows.pop(), self._flat.pop()
            self._index_row(row, add=True)
        else:
            self.rows.pop(), self._flat.pop()

    def _index_row(self, row: int, *, add: bool) -> None:
        flat = self._flat[row]
        for path, index in self._indexes.items():
            if path not in flat:
                continue
            present = self._present[path]
            present.add(row) if add else present.discard(row)
            self._arrays.pop((path, None), None)
            for key in _keys_of(flat[path]):
                self._arrays.pop((path, key), None)
                if add:
                    index.setdefault(key, set()).add(row)
                else:
                    bucket = index.get(key)
                    if bucket is not None:
                        bucket.discard(row)
                        if not bucket:
                            del index[key]

    def _index(self, path: str) -> dict[HKey, set[int]]:
        index = self._indexes.get(path)
        if index is None:
            index, present = {}, set()
            for row, flat in enumerate(self._flat):
                if path in flat:
                    present.add(row)
                    for key in _keys_of(flat[path]):
                        index.setdefault(key, set()).add(row)
            # _present first: a reader on another thread that finds _indexes[path] must also
            # find _present[path].
            self._present[path] = present
            self._indexes[path] = index
        return index

    # -- evaluation --------------------------------------------------------------------------

    def mask(self, spec: Mapping[str, Any]) -> Mask:
        """Rows matching a validated filter."""
        result: Mask | None = None
        for key, condition in spec.items():
            if key == "$and":
                part = _all_of([self.mask(part) for part in condition])
            elif key == "$or":
                part = np.logical_or.reduce([self.mask(part) for part in condition])
            elif key == "$not":
                part = ~self.mask(condition)
            else:
                part = self._field(key, condition)
            result = part if result is None else result & part
        return np.ones(len(self.rows), dtype=np.bool_) if result is None else result

    def matching_rows(self, spec: Mapping[str, Any]) -> npt.NDArray[np.int64] | None:
        """The rows matching a filter on one field by equality or ``$in`` (the usual tenant
        or category filter), ascending, straight from the value index; None for any other
        filter, which :meth:`mask` evaluates."""
        if len(spec) != 1:
            return None
        ((path, condition),) = spec.items()
        if path.startswith("$"):
            return None
        if not is_operator_object(condition):
            values = [condition]
        elif condition.keys() == {"$eq"}:
            values = [condition["$eq"]]
        elif condition.keys() == {"$in"}:
            values = condition["$in"]
        else:
            return None
        index = self._index(path)
        arrays = [self._rows(path, key) for key in {value_key(v) for v in values} & index.keys()]
        if len(arrays) == 1:
            return arrays[0]
        # a row holding a list can sit in several buckets
        return np.unique(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.int64)

    def _rows(self, path: str, key: HKey | None) -> npt.NDArray[np.int64]:
        """The rows of one bucket of a value index, ascending (key None: the rows having the
        path)."""
        rows = self._arrays.get((path, key))
        if rows is None:
            bucket = self._present[path] if key is None else self._index(path).get(key, set())
            rows = np.sort(np.fromiter(bucket, dtype=np.int64, count=len(bucket)))
            self._arrays[(path, key)] = rows
        return rows

    def _rows_mask(self, *arrays: npt.NDArray[np.int64]) -> Mask:
        mask = np.zeros(len(self.rows), dtype=np.bool_)
        for rows in arrays:
            mask[rows] = True
        return mask

    def _equal(self, path: str, value: Any) -> Mask:
        self._index(path)
        return self._rows_mask(self._rows(path, value_key(value)))

    def _field(self, path: str, condition: Any) -> Mask:
        if not is_operator_object(condition):
            return self._equal(path, condition)
        parts: list[Mask] = []
        for op, operand in condition.items():
            if op == "$eq":
                parts.append(self._equal(path, operand))
            elif op == "$ne":
                parts.append(~self._equal(path, operand))
            elif op in ("$in", "$nin"):
                index = self._index(path)
                keys = {value_key(value) for value in operand} & index.keys()
                hit = self._rows_mask(*(self._rows(path, key) for key in keys))
                parts.append(hit if op == "$in" else ~hit)
            elif op == "$exists":
                self._index(path)
                present = self._rows_mask(self._rows(path, None))
                parts.append(present if operand else ~present)
            elif op == "$not":
                parts.append(~self._field(path, operand))
            else:
                compare = _COMPARE[op]
                ordered = [
                    stored
                    for stored in self._index(path)
                    if _comparable(stored, operand) and compare(stored[1], operand)
                ]
                parts.append(self._rows_mask(*(self._rows(path, key) for key in ordered)))
        return _all_of(parts)


def _all_of(masks: list[Mask]) -> Mask:
    result = masks[0]
    for mask in masks[1:]:
        result = result & mask
    return result
