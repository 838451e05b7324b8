"""Wire contract v1 addition: ingest's confirmations and ingest presence (round 2, issue #14).

- `innotrial/v1/{gateway_id}/acks` — QoS 1, not retained, published by ingest after it durably
  committed messages of that gateway (stored, found duplicate, or dead-lettered: settled).
  Payload: `{"v": 1, "acks": {"<device_id>": [[first_seq, last_seq], ...]}}`, inclusive seq
  ranges, at most `MAX_ACK_RANGES` ranges per message.
- `innotrial/v1/_ingest/{worker_id}/state` — QoS 1, retained, one topic per ingest worker:
  `{"state": "online", "ts_ms": ...}` once its subscriptions are in place, `{"state": "offline"}`
  as its will and on a clean stop. A gateway publishes readings only while at least one worker
  is online. `_ingest` cannot be a gateway id (ids start with a letter or digit).

See docs/wire-protocol.md ("Confirmations") and docs/store-and-forward.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

import orjson

from telemetry.wire import TOPIC_ROOT, WIRE_VERSION, check_id, is_seq, is_valid_id

ACKS_SUFFIX = "acks"
PRESENCE_PREFIX = f"{TOPIC_ROOT}/_ingest"
PRESENCE_SUBSCRIPTION = f"{PRESENCE_PREFIX}/+/state"
MAX_ACK_RANGES = 500
"""Ranges per confirmation message: with 64-character ids it stays under 40 KiB."""

SeqRange = tuple[int, int]


class AckError(ValueError):
    """A confirmation or presence payload that breaks the contract."""


def acks_topic(gateway_id: str) -> str:
    """Topic ingest confirms a gateway's messages on."""
    check_id("gateway id", gateway_id)
    return f"{TOPIC_ROOT}/{gateway_id}/{ACKS_SUFFIX}"


def presence_topic(worker_id: str) -> str:
    """Retained topic carrying one ingest worker's online/offline state."""
    check_id("ingest worker id", worker_id)
    return f"{PRESENCE_PREFIX}/{worker_id}/state"


def worker_id_of(client_id: str) -> str:
    """A valid id derived from an MQTT client id (lower case, other characters become '-')."""
    cleaned = re.sub(r"[^a-z0-9_-]", "-", client_id.lower())[:64]
    if not is_valid_id(cleaned):
        cleaned = ("w" + cleaned)[:64]
    return cleaned


def presence_worker(topic: str) -> str | None:
    """The worker id of a presence topic, None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 5 and topic.startswith(PRESENCE_PREFIX + "/") and parts[4] == "state":
        return parts[3]
    return None


def _merged(pairs: Iterable[SeqRange]) -> list[SeqRange]:
    """Sorted inclusive ranges with overlapping or adjacent ones joined."""
    ranges: list[SeqRange] = []
    for first, last in sorted(pairs):
        if ranges and first <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(last, ranges[-1][1]))
        else:
            ranges.append((first, last))
    return ranges


def to_ranges(seqs: Iterable[int]) -> list[SeqRange]:
    """Sorted, merged inclusive ranges of a set of seqs."""
    return _merged((seq, seq) for seq in set(seqs))


def merge_ranges(parts: Iterable[Mapping[str, Iterable[SeqRange]]]) -> dict[str, list[SeqRange]]:
    """Several confirmations as one: device -> sorted, merged ranges."""
    merged: dict[str, list[SeqRange]] = {}
    for part in parts:
        for device_id, pairs in part.items():
            merged.setdefault(device_id, []).extend(pairs)
    return {device_id: _merged(pairs) for device_id, pairs in merged.items()}


def encode_acks(per_device: Mapping[str, Iterable[int]]) -> Iterator[bytes]:
    """Confirmation payloads for these (device, seqs), each with at most MAX_ACK_RANGES ranges."""
    part: dict[str, list[list[int]]] = {}
    count = 0
    for device_id in sorted(per_device):
        for first, last in to_ranges(per_device[device_id]):
            if count == MAX_ACK_RANGES:
                yield orjson.dumps({"v": WIRE_VERSION, "acks": part})
                part, count = {}, 0
            part.setdefault(device_id, []).append([first, last])
            count += 1
    if part:
        yield orjson.dumps({"v": WIRE_VERSION, "acks": part})


def decode_acks(payload: bytes) -> dict[str, list[SeqRange]]:
    """Device id -> inclusive seq ranges; raises AckError on anything else."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise AckError(f"confirmation is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("v") != WIRE_VERSION:
        raise AckError(f"confirmation must be an object with v {WIRE_VERSION}")
    acks = data.get("acks")
    if not isinstance(acks, dict):
        raise AckError("confirmation 'acks' must be an object of device id -> ranges")
    out: dict[str, list[SeqRange]] = {}
    for device_id, ranges in acks.items():
        if not is_valid_id(device_id) or not isinstance(ranges, list):
            raise AckError(f"confirmation for {device_id!r} must be a list of ranges")
        for pair in ranges:
            if not (isinstance(pair, list) and len(pair) == 2 and all(map(is_seq, pair))):
                raise AckError(f"confirmation range {pair!r} must be [first_seq, last_seq]")
            if pair[0] > pair[1]:
                raise AckError(f"confirmation range {pair!r} must not be reversed")
            out.setdefault(device_id, []).append((pair[0], pair[1]))
    return out


def encode_presence(state: str, ts_ms: int | None = None) -> bytes:
    """An ingest worker's presence payload."""
    return orjson.dumps({"state": state} if ts_ms is None else {"state": state, "ts_ms": ts_ms})


def decode_presence(payload: bytes) -> bool:
    """True when a presence payload says online (an empty retained payload clears: offline)."""
    if not payload:
        return False
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise AckError(f"presence is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("state") not in ("online", "offline"):
        raise AckError("presence must be an object with state online or offline")
    return bool(data["state"] == "online")
