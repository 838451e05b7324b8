"""Flatten metrics JSON to dotted paths and compare two of them (verify, change logs)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ABS_TOLERANCE = 1e-6
REL_TOLERANCE = 1e-9
MISSING = object()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of nested dicts and lists by dotted path (list items by index)."""
    if isinstance(value, Mapping):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, child in items:
        out.update(flatten(child, f"{prefix}.{key}" if prefix else key))
    return out


def same_value(a: Any, b: Any) -> bool:
    """Equal leaves: numbers within 1e-6 (or 1e-9 relative), anything else exactly."""
    a_num = isinstance(a, int | float) and not isinstance(a, bool)
    b_num = isinstance(b, int | float) and not isinstance(b, bool)
    if a_num and b_num:
        return math.isclose(float(a), float(b), rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return type(a) is type(b) and bool(a == b)


@dataclass(frozen=True, slots=True)
class LeafDiff:
    """One dotted path: its value on each side and whether they agree."""

    path: str
    left: Any
    right: Any
    match: bool


def compare(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[LeafDiff]:
    """Every dotted path of either side, sorted, with both values (MISSING when absent)."""
    flat_left, flat_right = flatten(left), flatten(right)
    rows = []
    for path in sorted(set(flat_left) | set(flat_right)):
        a = flat_left.get(path, MISSING)
        b = flat_right.get(path, MISSING)
        match = a is not MISSING and b is not MISSING and same_value(a, b)
        rows.append(LeafDiff(path, a, b, match))
    return rows


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The change log between two issues: [{path, old, new}] for paths that moved."""
    return [
        {"path": row.path,
         "old": None if row.left is MISSING else row.left,
         "new": None if row.right is MISSING else row.right}
        for row in compare(old, new) if not row.match
    ]


def show(value: Any) -> str:
    """A leaf for humans: floats to 6 significant digits, null, missing."""
    if value is MISSING:
        return "(missing)"
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
