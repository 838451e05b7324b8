"""The durable buffer: seq assignment, exact re-publish, ack deletion, the size-limit policy."""

from __future__ import annotations

from pathlib import Path

import orjson

from gateway.buffer import Buffer
from telemetry.wire import MAX_PAYLOAD_BYTES, Reading, decode_readings_payload

T0 = 1_750_000_000_000


def _readings(device: str, n: int, first: int = 0) -> list[Reading]:
    return [Reading(device, T0 + (first + i) * 60_000, {"rain_mm": 0.5}) for i in range(n)]


def test_seq_survives_reopen_and_payload_is_frozen(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.db", max_readings=10)
    buffer.add("rg-1", _readings("rg-1", 25), now_ms=1000)
    assert buffer.seal(60_000, now_ms=1001) == 2  # 5 readings wait for more or for the delay
    assert buffer.seal(60_000, now_ms=61_000) == 1
    first = buffer.next_messages(0, 10)
    buffer.close()
    buffer = Buffer(tmp_path / "b.db", max_readings=10)
    assert buffer.next_messages(0, 10) == first  # a re-publish is byte-identical
    assert [m.seq for m in first] == [1, 2, 3]
    decoded = decode_readings_payload(first[0].payload)
    assert decoded.sent_ms == 1001 and len(decoded.readings) == 10
    assert decoded.readings[0] == {"ts_ms": T0, "rain_mm": 0.5}
    buffer.ack([first[0].id, first[1].id, 999])
    buffer.add("rg-1", _readings("rg-1", 1, 25), now_ms=2000)
    buffer.seal(0, now_ms=2000)
    assert [m.seq for m in buffer.next_messages(0, 10)] == [3, 4]
    stats = buffer.stats()
    assert stats.devices[0].last_seq == 4 and stats.devices[0].acked_messages == 2
    buffer.close()


def test_driver_state_commits_with_readings(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.db")
    assert buffer.load_state("csv-1") == {}
    buffer.add("csv-1", _readings("csv-1", 2), now_ms=1, state={"ino": 5, "offset": 120})
    assert buffer.load_state("csv-1") == {"ino": 5, "offset": 120}
    buffer.close()


def test_size_limit_drops_oldest_and_counts(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.db", max_bytes=8_000, max_readings=10)
    for batch in range(40):
        buffer.add("rg-1", _readings("rg-1", 10, batch * 10), now_ms=batch)
        buffer.seal(0, now_ms=batch)
    stats = buffer.stats()
    assert stats.stored_bytes <= 8_000
    device = stats.devices[0]
    assert device.last_seq == 40
    assert device.dropped_messages == 40 - stats.messages > 0
    assert device.dropped_readings == 10 * device.dropped_messages
    seqs = [m.seq for m in buffer.next_messages(0, 100)]
    assert seqs == list(range(41 - len(seqs), 41)), "the newest survive; the gap is visible"
    buffer.close()


def test_messages_stay_under_the_wire_payload_limit(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.db", max_readings=3000)
    big = [Reading("fs-1", T0 + i, {"pair_id": "x" * 200}) for i in range(3000)]
    buffer.add("fs-1", big, now_ms=0)
    buffer.seal(0, now_ms=0, force=True)
    messages = buffer.next_messages(0, 100)
    assert len(messages) > 1
    assert all(len(m.payload) <= MAX_PAYLOAD_BYTES for m in messages)
    assert sum(len(orjson.loads(m.payload)["readings"]) for m in messages) == 3000
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
    buffer.close()


def test_confirm_deletes_by_device_and_seq_ranges_and_counts(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.db", max_readings=1)
    buffer.add("rg-1", _readings("rg-1", 5), now_ms=0)
    buffer.add("rg-2", _readings("rg-2", 3), now_ms=0)
    buffer.seal(0, now_ms=1, force=True)
    before = buffer.stats().stored_bytes
    ids = {(m.device_id, m.seq): m.id for m in buffer.next_messages(0, 100)}
    deleted = buffer.confirm({"rg-1": [(1, 2), (4, 9)], "rg-2": [(2, 2)], "rg-9": [(1, 1)]})
    assert sorted(deleted) == sorted(ids[k] for k in [("rg-1", 1), ("rg-1", 2), ("rg-1", 4),
                                                      ("rg-1", 5), ("rg-2", 2)])
    assert buffer.confirm({"rg-1": [(1, 2)]}) == []  # confirmed twice: ignored
    left = buffer.next_messages(0, 100)
    assert [(m.device_id, m.seq) for m in left] == [("rg-1", 3), ("rg-2", 1), ("rg-2", 3)]
    assert [m.id for m in buffer.messages_by_id([ids[("rg-2", 3)], ids[("rg-1", 1)]])] == [
        ids[("rg-2", 3)]
    ]
    stats = buffer.stats()
    assert [d.acked_messages for d in stats.devices] == [4, 1]
    assert stats.stored_bytes == sum(len(m.payload) for m in left) < before
    assert stats.waiting_for_ingest_since_ms is None
    buffer.set_waiting_for_ingest(1_750_000_000_000)
    assert buffer.stats().waiting_for_ingest_since_ms == 1_750_000_000_000
    buffer.close()


def test_status_says_waiting_for_ingest_with_the_buffer_depth(tmp_path: Path) -> None:
    from gateway.status import format_status, status_payload

    buffer = Buffer(tmp_path / "b.db", max_readings=1)
    buffer.add("rg-1", _readings("rg-1", 3), now_ms=0)
    buffer.seal(0, now_ms=1, force=True)
    assert "not waiting" in format_status(buffer.stats(), T0)
    assert orjson.loads(status_payload("gw-1", "0", buffer.stats(), "online"))[
        "waiting_for_ingest"
    ] is False
    buffer.set_waiting_for_ingest(T0)
    text = format_status(buffer.stats(), T0)
    assert "WAITING FOR INGEST since 2025-06-15 15:06:40 UTC" in text
    assert "3 messages held in the buffer" in text
    payload = orjson.loads(status_payload("gw-1", "0", buffer.stats(), "online"))
    assert payload["waiting_for_ingest"] is True and payload["buffer_messages"] == 3
    buffer.close()
