"""The metrics JSON as rows the report shows: labelled, in catalogue order, nested blocks apart.

Keys the catalogue does not know (a newer analytics, an extra count) still show, under their
raw name and after the known ones; keys it knows but the JSON lacks are simply not shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.compare import flatten
from reports.metric_labels import (
    BlockInfo,
    MetricInfo,
    block_info,
    catalogue,
    describe,
    metric_info,
    row_label,
)
from telemetry.metrics import ComparisonJson


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One metric: its raw key, its catalogue entry (None if unknown) and its value(s).

    In a block, a column with `ci` set holds (value, ci_low, ci_high) per row: the interval
    columns `<key>_ci_low` / `<key>_ci_high` are shown under the value, not as columns.
    """

    key: str
    info: MetricInfo | None
    values: list[Any]
    ci: bool = False


@dataclass(frozen=True, slots=True)
class BlockRow:
    """One row of a nested block (an intensity class, an event type)."""

    name: str
    label: tuple[str, str]
    values: list[Any]


@dataclass(frozen=True, slots=True)
class BlockView:
    """A nested block as a small table: columns are metrics, rows are classes or types."""

    key: str
    info: BlockInfo | None
    columns: list[MetricRow]
    rows: list[BlockRow]


def ordered_keys(scope: str, keys: Iterable[str]) -> list[str]:
    """Keys in catalogue order, then the unknown ones in their given order."""
    present = list(dict.fromkeys(keys))
    prefix = f"{scope}."
    known = [k[len(prefix):] for k in catalogue().metrics if k.startswith(prefix)]
    first = [k for k in known if k in present]
    return first + [k for k in present if k not in first]


def table_rows(scope: str, columns: Mapping[str, Mapping[str, Any]]) -> list[MetricRow]:
    """Rows of metric -> value per column (e.g. quality: one column per device)."""
    keys = [key for values in columns.values() for key in values]
    return [MetricRow(key, metric_info(scope, key), [v.get(key) for v in columns.values()])
            for key in ordered_keys(scope, keys)]


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(
        isinstance(v, Mapping) for v in value.values())


def _block(scope: str, name: str, block: Mapping[str, Mapping[str, Any]]) -> BlockView:
    info = block_info(scope, name)
    keys = ordered_keys(f"{scope}.{name}", [k for row in block.values() for k in row])
    with_ci = {k for k in keys if f"{k}_ci_low" in keys and f"{k}_ci_high" in keys}
    shown = [k for k in keys if not any(k in (f"{c}_ci_low", f"{c}_ci_high") for c in with_ci)]
    columns = [MetricRow(k, metric_info(f"{scope}.{name}", k), [], k in with_ci) for k in shown]
    names = list(block)
    if info is not None:
        names = [r for r in info.rows if r in block] + [r for r in block if r not in info.rows]
    rows = [BlockRow(r, row_label(scope, name, r), [_cell(block[r], k, k in with_ci)
                                                    for k in shown]) for r in names]
    return BlockView(name, info, columns, rows)


def _cell(row: Mapping[str, Any], key: str, ci: bool) -> Any:
    if not ci:
        return row.get(key)
    return (row.get(key), row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high"))


def comparison_view(family: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A comparison's metrics: flat rows (`rows`) and nested blocks (`blocks`)."""
    flat: dict[str, Any] = {}
    blocks: list[BlockView] = []
    for key, value in metrics.items():
        if _is_block(value):
            blocks.append(_block(family, key, value))
        elif isinstance(value, Mapping | list):
            flat.update(flatten({key: value}))  # some other shape: shown under its raw path
        else:
            flat[key] = value
    rows = [MetricRow(k, metric_info(family, k), [flat[k]]) for k in ordered_keys(family, flat)]
    return {"rows": rows, "blocks": blocks}


def criterion_info(metric: str) -> MetricInfo | None:
    """The catalogue entry of a criterion's dotted metric path."""
    return describe(metric)


def change_info(path: str, comparisons: Sequence[ComparisonJson]) -> MetricInfo | None:
    """The entry of a change-log path: quality.<device>.<key> or comparisons.<k>.metrics.<path>."""
    parts = path.split(".")
    if parts[0] == "quality" and len(parts) == 3:
        return metric_info("quality", parts[2])
    if parts[0] == "params" and len(parts) == 2:
        return metric_info("params", parts[1])
    if parts[0] == "comparisons" and len(parts) >= 4 and parts[2] == "metrics":
        if not parts[1].isdigit() or int(parts[1]) >= len(comparisons):
            return None
        family = str(comparisons[int(parts[1])].get("family", ""))
        return describe(".".join([family, *parts[3:]]))
    return None
