"""Reading blocks expand to exactly the readings they stand for."""

from __future__ import annotations

from telemetry.blocks import (
    ReadingBlock,
    blocks_of_readings,
    expand_blocks,
    keys_unique,
    make_received_many,
)
from telemetry.wire import Reading, ReceivedReading


def test_block_expands_to_readings_in_row_order_with_the_message_key_order() -> None:
    block = ReadingBlock("d", 9, ("rain_mm", "ts_ms", "battery_v"), [(0.1, 5, 3.6), (0.2, 6, 3.5)])
    got = block.received_readings()
    assert got == [ReceivedReading(Reading("d", 5, {"rain_mm": 0.1, "battery_v": 3.6}), 9),
                   ReceivedReading(Reading("d", 6, {"rain_mm": 0.2, "battery_v": 3.5}), 9)]
    assert list(got[0].reading.values) == ["rain_mm", "battery_v"]
    assert block.fields == ("rain_mm", "battery_v") and block.stamps() == [5, 6] and len(block) == 2


def test_block_expansion_is_built_once() -> None:
    block = ReadingBlock("d", 9, ("ts_ms", "a"), [(5, 1.0)])
    assert block.received_readings() is block.received_readings()
    assert expand_blocks([block])[0] is block.received_readings()[0]


def test_block_with_no_fields() -> None:
    block = ReadingBlock("d", 9, ("ts_ms",), [(5,), (6,)])
    assert [r.reading for r in block.received_readings()] == [Reading("d", 5, {}), Reading("d", 6, {})]


def test_blocks_of_readings_keep_runs_and_order() -> None:
    readings = [Reading("d", 1, {"a": 1.0}), Reading("d", 2, {"a": 2.0}),
                Reading("d", 3, {"a": 3.0, "b": True}), Reading("d", 4, {"a": 4.0})]
    blocks = blocks_of_readings("d", 7, readings)
    assert [(b.columns, len(b)) for b in blocks] == [
        (("ts_ms", "a"), 2), (("ts_ms", "a", "b"), 1), (("ts_ms", "a"), 1)]
    assert [item.reading for item in expand_blocks(blocks)] == readings
    assert {item.received_ms for item in expand_blocks(blocks)} == {7}
    assert blocks_of_readings("d", 7, []) == []


def test_keys_unique_looks_across_blocks_of_a_device() -> None:
    one = ReadingBlock("d", 1, ("ts_ms", "a"), [(5, 1.0), (6, 1.0)])
    later = ReadingBlock("d", 2, ("ts_ms", "b"), [(6, 1.0)])
    other_device = ReadingBlock("e", 2, ("ts_ms", "a"), [(5, 1.0)])
    assert keys_unique([one, other_device])
    assert not keys_unique([one, other_device, later])
    assert not keys_unique([ReadingBlock("d", 1, ("ts_ms",), [(5,), (5,)])])


def test_fast_constructor_builds_equal_objects() -> None:
    values: list[dict[str, float | str]] = [{"a": 1.0}, {"a": 2.0, "b": "x"}, {}]
    made = make_received_many("d", [5, 6, 7], values, 9)  # type: ignore[arg-type]
    plain = [ReceivedReading(Reading("d", ts, v), 9) for ts, v in zip([5, 6, 7], values, strict=True)]
    assert made == plain
    assert all(type(m) is ReceivedReading and type(m.reading) is Reading for m in made)
    assert hash(made[0].reading) == hash(plain[0].reading)
    assert make_received_many("d", [], [], 9) == []
