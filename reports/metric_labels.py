"""The metric catalogue: label, unit, meaning and display rounding of every metric key.

The data lives in metric_catalogue.yaml next to this module. Keys are "<scope>.<key>" for a
top-level metric (scope = quality, params or a family) and "<scope>.<block>.<key>" for a column
of a nested block such as rain_gauge.by_intensity or lift.by_type. The report rounds for display
only; the metrics JSON keeps full precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CATALOGUE_PATH = Path(__file__).with_name("metric_catalogue.yaml")
Pair = tuple[str, str]  # (English, 繁體中文)


class _Metric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: Pair
    unit: str
    digits: int = Field(ge=0, le=6)
    meaning: Pair


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: Pair
    meaning: Pair
    rows: dict[str, Pair]


class _Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    units: dict[str, Pair]
    metrics: dict[str, _Metric]
    blocks: dict[str, _Block]

    @model_validator(mode="after")
    def _units_known(self) -> _Catalogue:
        for key, metric in self.metrics.items():
            if metric.unit not in self.units:
                raise ValueError(f"metric {key!r} names unknown unit {metric.unit!r}")
            if not all(metric.label) or not all(metric.meaning):
                raise ValueError(f"metric {key!r} needs both languages of label and meaning")
        return self


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """What the report shows for one metric (a catalogue entry, maybe with a block row)."""

    key: str
    label: Pair
    unit: Pair
    digits: int
    meaning: Pair


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """A nested block (by_intensity, by_type): its label, meaning and row labels."""

    key: str
    label: Pair
    meaning: Pair
    rows: dict[str, Pair]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every catalogue entry by key, in file order."""

    metrics: dict[str, MetricInfo]
    blocks: dict[str, BlockInfo]


@cache
def catalogue() -> Catalogue:
    """The catalogue from metric_catalogue.yaml, validated once."""
    raw = _Catalogue.model_validate(yaml.safe_load(CATALOGUE_PATH.read_text("utf-8")))
    metrics = {key: MetricInfo(key, m.label, raw.units[m.unit], m.digits, m.meaning)
               for key, m in raw.metrics.items()}
    blocks = {key: BlockInfo(key, b.label, b.meaning, dict(b.rows))
              for key, b in raw.blocks.items()}
    return Catalogue(metrics, blocks)


def metric_info(scope: str, key: str) -> MetricInfo | None:
    """The entry of `key` in `scope` (e.g. 'quality', 'completeness'); None when unknown."""
    return catalogue().metrics.get(f"{scope}.{key}")


def block_info(scope: str, block: str) -> BlockInfo | None:
    """The nested block `block` of `scope` (e.g. 'lift', 'by_type'); None when unknown."""
    return catalogue().blocks.get(f"{scope}.{block}")


def row_label(scope: str, block: str, row: str) -> Pair:
    """The label of one row of a nested block; the raw name when the catalogue lacks it."""
    info = block_info(scope, block)
    return info.rows.get(row, (row, row)) if info is not None else (row, row)


def describe(path: str) -> MetricInfo | None:
    """The entry for a dotted criterion path such as 'lift.by_type.entrapment.recall'.

    A path into a nested block gets the column's entry with the row named in its label; a
    row name may itself hold dots (the rain class '0.2-2'), as in `analytics.criteria.resolve`.
    """
    parts = path.split(".")
    if len(parts) == 2:
        return metric_info(parts[0], parts[1])
    if len(parts) >= 4:
        scope, block, *row_parts, key = parts
        row = ".".join(row_parts)
        column = catalogue().metrics.get(f"{scope}.{block}.{key}")
        if column is None:
            return None
        en, zh = row_label(scope, block, row)
        label = (f"{column.label[0]}, {en}", f"{column.label[1]}（{zh}）")
        return MetricInfo(path, label, column.unit, column.digits, column.meaning)
    return None


def format_value(value: Any, digits: int | None) -> str:
    """A metric value for display: `digits` decimals (None: 4 significant), thousands grouped.

    Integers keep every digit; a value that rounds to zero never shows a minus sign; None is
    an em dash.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.4g}" if digits is None else f"{value:,.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0.0:
        text = text[1:]
    return text


def threshold_text(value: Any) -> str:
    """A criterion's required value exactly as written (no rounding)."""
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return format_value(value, None) if not isinstance(value, float) else repr(value)


def actual_text(actual: Any, required: Any, digits: int | None) -> str:
    """The actual value rounded, with more decimals when rounding would hide the difference."""
    if not isinstance(actual, float) or not isinstance(required, int | float):
        return format_value(actual, digits)
    shown = 4 if digits is None else digits
    text = format_value(actual, shown)
    while shown < 10 and actual != required and float(text.replace(",", "")) == required:
        shown += 1
        text = format_value(actual, shown)
    return text


def apart_texts(old: Any, new: Any, digits: int | None) -> tuple[str, str]:
    """Two values rounded alike, with more decimals while different values would look equal."""
    shown = 4 if digits is None else digits
    while True:
        texts = format_value(old, shown), format_value(new, shown)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new))
        if not numbers or old == new or texts[0] != texts[1] or shown >= 10:
            return texts
        shown += 1
