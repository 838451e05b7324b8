"""Key spans and the fast line renderer of the InfluxDB store: pure logic, no server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.store.base import FieldKind
from telemetry.store.influx_lines import LineRenderer
from telemetry.store.influx_spans import HOUR_MS, MAX_HOURS_PER_RANGE, device_ranges, spans_for
from telemetry.wire import FieldValue
from tests.telemetry.store_helpers import T0_MS, rr


def test_device_ranges_are_oldest_and_newest_per_device() -> None:
    keys = [("a", 5), ("b", 9), ("a", 2), ("a", 7), ("b", 9)]
    assert device_ranges(keys) == {"a": (2, 7), "b": (9, 9)}


def test_a_range_inside_one_hour_is_one_span() -> None:
    keys = [("a", T0_MS + 10), ("a", T0_MS + 20_000)]
    assert spans_for(keys, device_ranges(keys)) == {"a": [(T0_MS + 10, T0_MS + 20_000)]}


def test_a_range_is_cut_at_utc_hours() -> None:
    keys = [("a", T0_MS - 1_000), ("a", T0_MS + HOUR_MS + 5)]  # T0 is midnight UTC
    assert spans_for(keys, device_ranges(keys)) == {
        "a": [(T0_MS - 1_000, T0_MS - 1), (T0_MS, T0_MS + HOUR_MS - 1), (T0_MS + HOUR_MS, T0_MS + HOUR_MS + 5)]
    }


def test_a_wide_range_gets_spans_only_for_hours_that_hold_keys() -> None:
    far = T0_MS + (MAX_HOURS_PER_RANGE + 10) * HOUR_MS
    keys = [("a", T0_MS + 7), ("a", far + 3), ("b", T0_MS)]
    spans = spans_for(keys, device_ranges(keys))
    assert spans["a"] == [(T0_MS + 7, T0_MS + HOUR_MS - 1), (far, far + 3)]
    assert spans["b"] == [(T0_MS, T0_MS)]


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(T0_MS - 400 * HOUR_MS, T0_MS + 400 * HOUR_MS)),
        min_size=1,
        max_size=60,
    )
)
def test_every_key_has_a_span_of_its_own_hour(keys: list[tuple[str, int]]) -> None:
    """The invariant the store relies on: a key's span is in the same request and shard hour."""
    spans = spans_for(keys, device_ranges(keys))
    for device_id, ts_ms in keys:
        assert any(
            first <= ts_ms <= last and first // HOUR_MS == last // HOUR_MS == ts_ms // HOUR_MS
            for first, last in spans[device_id]
        )
    assert all(first <= last for device_spans in spans.values() for first, last in device_spans)


VALUE_SETS: list[list[dict[str, FieldValue]]] = [
    [{"rain_mm": 0.2, "battery_v": 3.61}, {"rain_mm": 0.0, "battery_v": 3.6}],
    [{"count": 3, "level": 1.5}, {"count": -4, "level": 2.0}],
    [{"x": 1e300, "y": -0.0}, {"x": 5e-324, "y": 12.5}],
]


@pytest.mark.parametrize("values", VALUE_SETS)
def test_uniform_batches_render_like_the_reading_by_reading_path(values: list[dict[str, FieldValue]]) -> None:
    items = [rr(f"d {i % 2},x=y", T0_MS + i, **value) for i, value in enumerate(values * 3)]
    kinds: dict[str, FieldKind] = {}
    fast = LineRenderer().readings(items, kinds)
    slow = LineRenderer()._lines_by_signature(items, dict(kinds), set())
    assert fast == slow
    assert fast[0].startswith("readings,device_id=d\\ 0\\,x\\=y ")


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ([{"level": 1.5}, {"level": "high"}], {"level": "float"}),  # a string where a float belongs
        ([{"level": 1.5}, {"level": 2}], {}),  # an int for a float field is written as 2.0
        ([{"n": 3}, {"n": True}], {"n": "int"}),  # a bool where an int belongs
        ([{"n": 3}, {"n": 3.5}], {"n": "int"}),
        ([{"ok": True}, {"ok": False}], {}),  # booleans are written true/false
        ([{"mode": "a"}, {"mode": "b"}], {"mode": "string"}),  # strings need quoting
        ([{"a": 1.0}, {"a": 1.0, "b": 2.0}], {}),  # mixed field names
    ],
)
def test_other_batches_fall_back_to_the_reading_by_reading_path(
    values: list[dict[str, FieldValue]], kinds: dict[str, FieldKind]
) -> None:
    items = [rr("d-1", T0_MS + i, **value) for i, value in enumerate(values)]
    renderer = LineRenderer()
    assert renderer._uniform_lines(items, dict(kinds), set()) is None
    assert renderer.readings(items, dict(kinds)) == LineRenderer()._lines_by_signature(items, dict(kinds), set())


def test_rendered_signatures_are_reported() -> None:
    signatures: set[tuple[str, tuple[str, ...]]] = set()
    renderer = LineRenderer()
    renderer.readings([rr("d-1", T0_MS, a=1.0), rr("d-2", T0_MS, a=2.0)], {}, signatures)
    renderer.readings([rr("d-1", T0_MS, a=1.0), rr("d-1", T0_MS + 1, a=1.0, b=2.0)], {}, signatures)
    assert signatures == {("d-1", ("a",)), ("d-2", ("a",)), ("d-1", ("a", "b"))}
