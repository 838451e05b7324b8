"""Key spans: a cheap first answer to "may some key of this batch be stored already?".

Asking InfluxDB 1.x for stored keys reads the device's series, and a query copies every point
of that series still in InfluxDB's in-memory cache (up to minutes of data): the exact check
gets slower the more recent data there is. So each write also records spans, and only a
device whose batch overlaps a stored span needs the exact check (docs/stores.md).

A span is a point of measurement `innotrial_spans` (tag device_id) at time `last` with field
`first`: keys of the device in [first, last] may be stored. Spans cut at UTC hours and go
into every body of the write, so each stored reading has its span in the same request and the
same hour. InfluxDB shard groups are whole hours aligned to UTC, and InfluxDB writes the
points of one request that fall into one shard as one WAL entry, all or nothing: a reading
is never stored without a span covering it. Spans may claim more than was stored (a failed
body, a gap between readings); that only costs an exact check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from telemetry.store.influx_http import InfluxHttp
from telemetry.store.influx_lines import (
    DEVICE_TAG,
    READINGS_MEASUREMENT,
    SPANS_MEASUREMENT,
    LineRenderer,
    device_filter,
    quote_ident,
)

HOUR_MS = 3_600_000
MAX_HOURS_PER_RANGE = 48
"""Wider ranges get a span per hour that holds a key, not one per hour of the range."""

Key = tuple[str, int]
Span = tuple[int, int]
"""(first, last) ts_ms, inclusive."""


def device_ranges(keys: Iterable[Key]) -> dict[str, Span]:
    """Per device, the oldest and newest ts_ms among the keys."""
    stamps: dict[str, list[int]] = {}
    for device_id, ts_ms in keys:
        stamps.setdefault(device_id, []).append(ts_ms)
    return {device_id: (min(values), max(values)) for device_id, values in stamps.items()}


def spans_for(keys: Iterable[Key], ranges: Mapping[str, Span]) -> dict[str, list[Span]]:
    """Per device, spans that cover its keys without crossing a UTC hour."""
    hours: dict[str, Iterable[int]] = {}
    wide: set[str] = set()
    for device_id, (first, last) in ranges.items():
        if last // HOUR_MS - first // HOUR_MS < MAX_HOURS_PER_RANGE:
            hours[device_id] = range(first // HOUR_MS, last // HOUR_MS + 1)
        else:
            wide.add(device_id)
    if wide:
        held: dict[str, set[int]] = {device_id: set() for device_id in wide}
        for device_id, ts_ms in keys:
            if device_id in held:
                held[device_id].add(ts_ms // HOUR_MS)
        hours.update((device_id, sorted(values)) for device_id, values in held.items())
    spans: dict[str, list[Span]] = {}
    for device_id, device_hours in hours.items():
        first, last = ranges[device_id]
        spans[device_id] = [
            (max(first, hour * HOUR_MS), min(last, (hour + 1) * HOUR_MS - 1))
            for hour in device_hours
        ]
    return spans


def ask_overlapping_devices(
    http: InfluxHttp, ranges: Mapping[str, Span]
) -> Callable[[], set[str]]:
    """Send the spans query now (one statement per device); the function returned reads the
    answer: the devices with a stored span that overlaps their range."""
    devices = sorted(ranges)
    statements = [
        f"SELECT {quote_ident('first')} FROM {quote_ident(SPANS_MEASUREMENT)} "
        f"WHERE {device_filter(device_id)} AND time >= {ranges[device_id][0]}ms"
        for device_id in devices
    ]
    if not statements:
        return set
    answer = http.query_soon(statements)

    def overlapping() -> set[str]:
        found: set[str] = set()
        for chunk in answer():
            device_id = devices[chunk.statement_id]
            newest = ranges[device_id][1]
            if any(row[1] is not None and row[1] <= newest for row in chunk.values):
                found.add(device_id)
        return found

    return overlapping


def span_unspanned_devices(http: InfluxHttp, renderer: LineRenderer,
                           newest_of: Callable[[str], int | None], min_time_ms: int) -> None:
    """Give readings stored before key spans existed (innotrial 0.1) a span per device.

    Each span covers everything up to the device's newest reading (`newest_of`), so writes of
    those keys get the exact check. Written in its own request, before any new reading.
    """
    measurements = {row[0] for chunk in http.query(["SHOW MEASUREMENTS"]) for row in chunk.values}
    if READINGS_MEASUREMENT not in measurements or SPANS_MEASUREMENT in measurements:
        return
    statement = (
        f"SHOW TAG VALUES FROM {quote_ident(READINGS_MEASUREMENT)} "
        f"WITH KEY = {quote_ident(DEVICE_TAG)}"
    )
    devices = [row[1] for chunk in http.query([statement]) for row in chunk.values]
    spans: dict[str, list[Span]] = {}
    for device_id in devices:
        newest = newest_of(device_id)
        if newest is not None:
            spans[device_id] = [(min_time_ms, newest)]
    if spans:
        http.write(["\n".join(renderer.spans(spans)).encode()])
