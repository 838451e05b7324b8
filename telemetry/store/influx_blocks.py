"""Line protocol straight from ReadingBlocks: the InfluxDB store's path for ingest batches.

A block is one device's readings received together, all with the same fields, as row tuples.
When every field column holds floats only or ints only, one %-template per block (series,
fields, the block's received_ms) renders each row with one C-level `%`, reordered by an
itemgetter so that ts_ms comes last: no per-reading objects at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import Any

from telemetry.blocks import TS_KEY, ReadingBlock, values_getter
from telemetry.identity import has_key_fields
from telemetry.store.base import RECEIVED_COLUMN, FieldKind
from telemetry.store.influx_lines import READINGS_MEASUREMENT, LineRenderer
from telemetry.store.influx_spans import Key, Span

BlockFormat = tuple[str, Callable[[Any], tuple[Any, ...]]]
"""A block's %-template and the getter that orders a row for it."""


def block_format(
    renderer: LineRenderer, block: ReadingBlock, kinds: MutableMapping[str, FieldKind]
) -> BlockFormat | None:
    """The template and row order for a block, or None when a field column is not all
    floats or all ints (the reading-by-reading path renders those)."""
    columns, rows = block.columns, block.rows
    names = block.fields
    if has_key_fields(names):
        return None  # events: each line's series carries its event key
    positions = [columns.index(name) for name in names]
    fields = renderer.uniform_fields(names, [rows[0][at] for at in positions], kinds)
    if fields is None or not all(
        accepted.issuperset(map(type, [row[at] for row in rows]))
        for at, accepted in zip(positions, fields.accepted, strict=True)
    ):
        return None
    prefix = renderer.series(READINGS_MEASUREMENT, block.device_id).replace("%", "%%")
    template = f"{prefix}{fields.template},{RECEIVED_COLUMN}={block.received_ms}i %d"
    return template, values_getter([*positions, columns.index(TS_KEY)])


def block_lines(block: ReadingBlock, form: BlockFormat) -> list[str]:
    """The block's lines, one `%` per row."""
    template, order = form
    return list(map(template.__mod__, map(order, block.rows)))


def block_ranges(blocks: Iterable[ReadingBlock]) -> dict[str, Span]:
    """Per device, the oldest and newest ts_ms in the blocks."""
    ranges: dict[str, Span] = {}
    for block in blocks:
        stamps = block.stamps()
        first, last = min(stamps), max(stamps)
        known = ranges.get(block.device_id)
        ranges[block.device_id] = (
            (first, last) if known is None else (min(known[0], first), max(known[1], last))
        )
    return ranges


def block_keys(blocks: Iterable[ReadingBlock]) -> Iterator[Key]:
    """Every (device_id, ts_ms) of the blocks."""
    for block in blocks:
        device_id = block.device_id
        for ts_ms in block.stamps():
            yield device_id, ts_ms


def block_bodies(
    blocks: Sequence[ReadingBlock], forms: Sequence[BlockFormat], head: list[str],
    tail: Callable[[], list[str]], lines_per_body: int,
) -> Iterator[bytes]:
    """Bodies of whole blocks, about `lines_per_body` readings each, rendered as they are
    sent; every body starts with `head`, and `tail()` ends the last one."""
    lines: list[str] = []
    for index, (block, form) in enumerate(zip(blocks, forms, strict=True)):
        lines.extend(block_lines(block, form))
        if len(lines) >= lines_per_body and index < len(blocks) - 1:
            yield "\n".join(head + lines).encode()
            lines = []
    yield "\n".join(head + lines + tail()).encode()
