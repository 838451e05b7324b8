"""`readings import` never stops on a reading the store refuses: it is a `store_rejected`
dead letter and the rest of the file is stored (the store here refuses one timestamp)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from device_profiles import get_profile
from ingest.importer import import_csv
from registry.db import open_registry
from registry.dead_letters import list_dead_letters
from telemetry.store.base import StoreRejected, WriteResult
from telemetry.store.sqlite import SQLiteStore
from telemetry.wire import ReceivedReading

T0 = 1_764_201_600_000
REFUSED_MS = T0 + 3_000


class _RefusingStore(SQLiteStore):
    def write(self, batch: Sequence[ReceivedReading],
              seqs: Iterable[tuple[str, int]] = ()) -> WriteResult:
        if any(item.reading.ts_ms == REFUSED_MS for item in batch):
            raise StoreRejected("value out of range for the test")
        return super().write(batch, seqs)


def test_a_refused_reading_is_dead_lettered_and_the_rest_imported(tmp_path: Path) -> None:
    source = tmp_path / "logger.csv"
    source.write_text("ts_ms,rain_mm\n" + "".join(f"{T0 + k * 1000},0.{k}\n" for k in range(6)))
    store = _RefusingStore(tmp_path / "r.db")
    registry = open_registry(f"sqlite:///{tmp_path / 'reg.db'}")
    counts = import_csv(source, "rg-1", "gw-1", get_profile("rain_gauge"), store, registry, T0 + 10**6)
    assert (counts.rows, counts.stored, counts.rejected) == (6, 5, 1)
    assert store.count("rg-1", 0, 2**62) == 5
    with registry.session() as session:
        [letter] = list_dead_letters(session)
    assert (letter.reason, letter.ts_ms, letter.source, letter.gateway_id) == (
        "store_rejected", REFUSED_MS, "import", "gw-1")
    assert "value out of range for the test" in letter.detail
    registry.close()
    store.close()
