"""add_dead_letters: a redelivered message's dead letters are written once, others always."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.db import Registry, open_registry
from registry.dead_letters import DeadLetterRecord, add_dead_letters, list_dead_letters

LETTER = DeadLetterRecord(received_ms=1_000, reason="out_of_range", detail="rain_mm -5 < 0",
                          topic="innotrial/v1/gw/dev/readings", gateway_id="gw", device_id="dev",
                          seq=7, ts_ms=500, payload_excerpt='{"ts_ms":500,"rain_mm":-5.0}')


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    yield registry
    registry.close()


def _add(registry: Registry, *records: DeadLetterRecord) -> list[DeadLetterRecord]:
    with registry.session() as session:
        return add_dead_letters(session, records)


def _count(registry: Registry) -> int:
    with registry.session() as session:
        return len(list_dead_letters(session))


def test_a_redelivered_copy_of_a_stored_dead_letter_is_left_out(registry: Registry) -> None:
    assert _add(registry, LETTER) == [LETTER]
    # received again later, with another detail (details may name the receive time)
    again = dataclasses.replace(LETTER, received_ms=9_000, detail="other", redelivered=True)
    assert _add(registry, again) == []
    assert _count(registry) == 1


def test_letters_not_marked_redelivered_are_all_kept(registry: Registry) -> None:
    """The same bad reading sent twice as new messages is two rejections."""
    assert _add(registry, LETTER, LETTER) == [LETTER, LETTER]
    assert _add(registry, LETTER) == [LETTER]
    assert _count(registry) == 3


@pytest.mark.parametrize("change", [
    {"reason": "unknown_field"}, {"source": "import"}, {"topic": None}, {"gateway_id": "gw-2"},
    {"device_id": None}, {"seq": None}, {"seq": 8}, {"ts_ms": None}, {"ts_ms": 501},
    {"payload_excerpt": "{}"},
])
def test_a_redelivered_letter_that_differs_in_any_key_is_kept(registry: Registry,
                                                              change: dict[str, object]) -> None:
    _add(registry, LETTER)
    other = dataclasses.replace(LETTER, redelivered=True, **change)  # type: ignore[arg-type]
    assert _add(registry, other) == [other]
    assert _count(registry) == 2
