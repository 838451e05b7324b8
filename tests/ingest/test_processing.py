"""Message processing and batch commits without MQTT: a registry snapshot and SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from device_profiles import get_profile
from ingest.errors import Aborted
from ingest.metrics import IngestMetrics
from ingest.processing import InboundMessage, MessageProcessor
from ingest.writer import BatchCommitter
from registry.db import open_registry
from registry.dead_letters import list_dead_letters
from registry.queries import DeviceDirectory, DeviceEntry
from telemetry.blocks import ReadingBlock
from telemetry.store.base import StoreUnavailable, WriteResult
from telemetry.store.sqlite import SQLiteStore
from telemetry.validation import Rejection, reading_validator
from telemetry.wire import encode_readings_payload

DIRECTORY = DeviceDirectory(frozenset({"gw-1"}),
                            {"dev-1": DeviceEntry("dev-1", "gw-1", "rain_gauge", "t-1")})
TOPIC = "innotrial/v1/gw-1/dev-1/readings"
NOW_MS = 1_800_000_000_000
T0 = 1_700_000_000_000


def _message(readings: list[dict[str, object]], seq: int = 1) -> InboundMessage:
    return InboundMessage(TOPIC, encode_readings_payload(seq, NOW_MS, readings), NOW_MS)


def test_mixed_message_keeps_valid_readings_and_dead_letters_each_bad_one() -> None:
    out = MessageProcessor(DIRECTORY).process(_message([
        {"ts_ms": T0 + 1, "rain_mm": 0.1}, {"ts_ms": T0 + 2, "rain_mm": "x"}, {"ts_ms": T0 + 3, "rain_mm": 0.3},
        {"ts_ms": T0 + 4, "rain_mm": 0.1, "colour": 1}]))
    assert [r.reading.ts_ms - T0 for r in out.readings] == [1, 3]
    assert [(d.reason, d.ts_ms, d.seq) for d in out.dead_letters] == [
        ("type_mismatch", T0 + 2, 1), ("unknown_field", T0 + 4, 1)]
    assert out.seq == ("dev-1", 1)
    assert all(r.received_ms == NOW_MS for r in out.readings)


def test_message_level_rejection_is_one_dead_letter_with_the_device() -> None:
    msg = InboundMessage(TOPIC, b"\x00{not json" + b"x" * 5000, NOW_MS)
    out = MessageProcessor(DIRECTORY).process(msg)
    assert out.readings == [] and out.seq is None
    [dead] = out.dead_letters
    assert (dead.reason, dead.device_id, dead.gateway_id) == ("bad_json", "dev-1", "gw-1")
    assert dead.payload_excerpt.startswith("\\x00{not json") and dead.payload_excerpt.endswith("...")
    assert len(dead.payload_excerpt) <= 1024 + 4 + 3


class FlakyStore(SQLiteStore):
    """A SQLite store whose first `failures` writes raise StoreUnavailable."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    def write_blocks(self, blocks: Sequence[ReadingBlock],
                     seqs: Iterable[tuple[str, int]] = ()) -> WriteResult:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("down for the test")
        return super().write_blocks(blocks, seqs)


def test_commit_retries_until_the_store_is_back(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "r.db", failures=2)
    registry = open_registry(f"sqlite:///{tmp_path / 'reg.db'}")
    metrics = IngestMetrics()
    committer = BatchCommitter(store, registry, metrics, threading.Event(), max_backoff_s=0.05)
    processor = MessageProcessor(DIRECTORY)
    batch = [processor.process(_message([{"ts_ms": T0 + 1, "rain_mm": 0.1}, {"ts_ms": T0 + 2}], seq=1)),
             processor.process(_message([{"ts_ms": T0 + 1, "rain_mm": 0.5}], seq=2))]
    summary = committer.commit(batch)
    assert (summary.messages, summary.stored, summary.duplicates, summary.rejected) == (2, 1, 0, 2)
    assert metrics.store_errors.labels("store")._value.get() == 2
    with registry.session() as session:
        reasons = sorted(d.reason for d in list_dead_letters(session))
    assert reasons == ["bad_schema", "conflict"]
    assert store.device_stats("dev-1").seq_distinct == 2
    registry.close()
    store.close()


def test_commit_gives_up_when_the_worker_stops(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "r.db", failures=10**6)
    registry = open_registry(f"sqlite:///{tmp_path / 'reg.db'}")
    abort = threading.Event()
    committer = BatchCommitter(store, registry, IngestMetrics(), abort, max_backoff_s=0.05)
    batch = [MessageProcessor(DIRECTORY).process(_message([{"ts_ms": T0 + 1, "rain_mm": 0.1}]))]
    threading.Timer(0.3, abort.set).start()
    with pytest.raises(Aborted):
        committer.commit(batch)
    assert store.count("dev-1", 0, T0 + 10) == 0
    registry.close()
    store.close()


def test_whole_message_and_per_reading_paths_give_the_readings_the_validator_gives() -> None:
    profile = get_profile("rain_gauge")
    uniform = [{"ts_ms": T0 + i, "rain_mm": 0.1 * i, "battery_v": 3.6} for i in range(5)]
    mixed = [{"ts_ms": T0 + 10, "rain_mm": 0.5}, {"ts_ms": T0 + 11, "rain_mm": 1, "battery_v": 3.5},
             {"ts_ms": T0 + 12, "rain_mm": "x"}, {"ts_ms": T0 + 13, "rain_mm": 0.25}, {"ts_ms": T0 + 14, "rain_mm": 0.75}]
    processor = MessageProcessor(DIRECTORY)
    for raws, blocks in ((uniform, 1), (mixed, 3)):  # mixed: per reading, in runs of one field set
        out = processor.process(_message(raws))
        expected = [reading_validator(profile).validate("dev-1", dict(raw), NOW_MS) for raw in raws]
        assert [r.reading for r in out.readings] == [e for e in expected if not isinstance(e, Rejection)]
        assert {r.received_ms for r in out.readings} == {NOW_MS}
        assert len(out.blocks) == blocks and out.reading_count == len(out.readings)


def test_conflict_dead_letter_names_the_message_it_came_from(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db")
    registry = open_registry(f"sqlite:///{tmp_path / 'reg.db'}")
    committer = BatchCommitter(store, registry, IngestMetrics(), threading.Event())
    processor = MessageProcessor(DIRECTORY)
    committer.commit([processor.process(_message([{"ts_ms": T0 + 1, "rain_mm": 0.1}], seq=1))])
    batch = [processor.process(_message([{"ts_ms": T0 + 2, "rain_mm": 0.2}], seq=2)),
             processor.process(_message([{"ts_ms": T0 + 3, "rain_mm": 0.3}, {"ts_ms": T0 + 1, "rain_mm": 0.9}], seq=3))]
    summary = committer.commit(batch)
    assert (summary.stored, summary.duplicates, summary.rejected) == (2, 0, 1)
    with registry.session() as session:
        [dead] = list_dead_letters(session)
    assert (dead.reason, dead.seq, dead.ts_ms, dead.topic) == ("conflict", 3, T0 + 1, TOPIC)
    registry.close()
    store.close()
