"""Mongo-style filters as parameterised PostgreSQL over a JSONB ``metadata`` column, with the
semantics of :mod:`mastra.vector.filters` (lists match by element, numbers by value, strings in
code-point order, missing keys match ``$ne``/``$nin``)."""

from __future__ import annotations

from typing import Any

import orjson

from mastra.vector.filters import is_operator_object, validate_filter

__all__ = ["to_sql"]

_COMPARE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


class _Builder:
    def __init__(self) -> None:
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "%s"

    def path(self, key: str) -> str:
        return f"(metadata #> {self.param(key.split('.'))}::text[])"

    def clause(self, spec: dict[str, Any]) -> str:
        parts = []
        for key, condition in spec.items():
            if key == "$and":
                parts.append("(" + " AND ".join(self.clause(c) for c in condition) + ")")
            elif key == "$or":
                parts.append("(" + " OR ".join(self.clause(c) for c in condition) + ")")
            elif key == "$not":
                parts.append(f"(NOT COALESCE({self.clause(condition)}, false))")
            else:
                parts.append(self.field(key, condition))
        return "(" + " AND ".join(parts) + ")" if parts else "TRUE"

    # Every placeholder gets its own parameter, appended in the order the placeholders
    # appear in the text: each expression below calls self.path()/self.param() in place.

    def equal(self, key: str, value: Any) -> str:
        doc, element = orjson.dumps(value).decode(), orjson.dumps([value]).decode()
        return (
            f"COALESCE({self.path(key)} = {self.param(doc)}::jsonb OR "
            f"(jsonb_typeof({self.path(key)}) = 'array' AND "
            f"{self.path(key)} @> {self.param(element)}::jsonb), false)"
        )

    def _scalar(self, x: str, sign: str, value: Any, second_x: str) -> str:
        # CASE, not AND: SQL may evaluate AND's operands in any order, and a cast of a JSON
        # string to numeric would fail.
        if isinstance(value, str):
            kind, operand = "string", f"({second_x} #>> '{{}}') COLLATE \"C\""
            right = f'{self.param(value)} COLLATE "C"'
        else:
            kind, operand = "number", f"({second_x})::numeric"
            right = f"{self.param(value)}::numeric"
        return (
            f"(CASE WHEN jsonb_typeof({x}) = '{kind}' THEN {operand} {sign} {right} ELSE false END)"
        )

    def compare(self, key: str, op: str, value: Any) -> str:
        sign = _COMPARE[op]
        scalar = self._scalar(self.path(key), sign, value, self.path(key))
        array_check = f"jsonb_typeof({self.path(key)}) = 'array'"
        elements = f"jsonb_array_elements({self.path(key)})"
        inner = self._scalar("e.v", sign, value, "e.v")
        return (
            f"COALESCE({scalar} OR ({array_check} AND EXISTS (SELECT 1 FROM {elements} "
            f"AS e(v) WHERE {inner})), false)"
        )

    def field(self, key: str, condition: Any) -> str:
        if not is_operator_object(condition):
            return self.equal(key, condition)
        parts = []
        for op, operand in condition.items():
            if op == "$eq":
                parts.append(self.equal(key, operand))
            elif op == "$ne":
                parts.append(f"(NOT {self.equal(key, operand)})")
            elif op in ("$in", "$nin"):
                any_of = " OR ".join(self.equal(key, v) for v in operand) or "false"
                parts.append(f"({any_of})" if op == "$in" else f"(NOT ({any_of}))")
            elif op == "$exists":
                parts.append(f"({self.path(key)} IS {'NOT ' if operand else ''}NULL)")
            elif op == "$not":
                parts.append(f"(NOT COALESCE({self.field(key, operand)}, false))")
            else:
                parts.append(self.compare(key, op, operand))
        return "(" + " AND ".join(parts) + ")"


def to_sql(spec: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """A WHERE clause and its parameters for a (validated) filter."""
    if not spec:
        return "TRUE", []
    builder = _Builder()
    return builder.clause(validate_filter(spec)), builder.params
