"""Event identity: which stored reading a reading is (docs/stores.md, "Store key").

A reading's store key is (device_id, ts_ms, event key). The event key is made of the values
of the fields an event profile lists under `key` (device_profiles): several events of one
device at one millisecond, a lift controller's `fault_door` and `out_of_service` in the same
second, are different readings. Periodic profiles have no key fields: their event key is ""
and their store key (device_id, ts_ms).

The shipped profiles agree on key field names (a name that is a key field anywhere is one
everywhere, checked when they load), so the event key follows from a reading's values alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from urllib.parse import quote

from telemetry.wire import FieldValue, Reading

StoreKey = tuple[str, int, str]
"""(device_id, ts_ms, event key)."""


@cache
def key_fields() -> tuple[str, ...]:
    """Every field name that is a key field of some profile, sorted."""
    from device_profiles import builtin_profiles

    return tuple(sorted({name for p in builtin_profiles().values() for name in p.key}))


@cache
def _key_field_set() -> frozenset[str]:
    return frozenset(key_fields())


def event_key(values: Mapping[str, FieldValue]) -> str:
    """The event key of a reading's values: `name:value` of each key field present, in name
    order, joined by `/`; values percent-encoded, so the text is safe as an InfluxDB tag and
    tells keys apart. "" for a reading without key fields (every periodic reading)."""
    names = _key_field_set()
    if names.isdisjoint(values):
        return ""
    return "/".join(
        f"{name}:{quote(str(values[name]), safe='')}"
        for name in key_fields() if values.get(name) is not None
    )


def store_key(reading: Reading) -> StoreKey:
    """(device_id, ts_ms, event key) of a reading."""
    return reading.device_id, reading.ts_ms, event_key(reading.values)


def has_key_fields(names: tuple[str, ...] | frozenset[str] | set[str]) -> bool:
    """True when a reading with these field names has an event key."""
    return not _key_field_set().isdisjoint(names)


def store_keys(readings: Sequence[Reading]) -> list[StoreKey]:
    """The store keys of many readings (`write` computes one per reading: kept cheap for the
    usual reading without key fields)."""
    disjoint = _key_field_set().isdisjoint
    return [(reading.device_id, reading.ts_ms,
             "" if disjoint(reading.values) else event_key(reading.values))
            for reading in readings]
