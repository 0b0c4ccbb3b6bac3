"""Evaluate a Chroma ``where`` filter on one metadata dict, so the lexical index applies
exactly the filters the vector store applies."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def matches(metadata: dict[str, Any], where: dict[str, Any]) -> bool:
    """True when ``metadata`` satisfies the Chroma-style ``where`` filter."""
    for key, condition in where.items():
        if key == "$and":
            if not all(matches(metadata, clause) for clause in condition):
                return False
        elif key == "$or":
            if not any(matches(metadata, clause) for clause in condition):
                return False
        elif not _field_matches(metadata.get(key, _MISSING), condition):
            return False
    return True


def _field_matches(value: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        condition = {"$eq": condition}
    return all(_compare(value, operator, operand) for operator, operand in condition.items())


def _compare(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$ne":
        return value is _MISSING or value != operand
    if operator == "$nin":
        return value is _MISSING or value not in operand
    if operator == "$not_contains":
        return not isinstance(value, list) or operand not in value
    if value is _MISSING:
        return False
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$in":
        return value in operand
    if operator == "$contains":
        return isinstance(value, list) and operand in value
    if operator in ("$gt", "$gte", "$lt", "$lte"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return {
            "$gt": value > operand,
            "$gte": value >= operand,
            "$lt": value < operand,
            "$lte": value <= operand,
        }[operator]
    raise ValueError(f"unsupported filter operator {operator}")
