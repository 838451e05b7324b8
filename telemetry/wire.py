"""Wire contract v1: topics, the readings payload, and typed readings.

See docs/wire-protocol.md for the vendor-facing description.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from pydantic import Field

WIRE_VERSION = 1
TOPIC_ROOT = "innotrial/v1"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
IdStr = Annotated[str, Field(pattern=ID_PATTERN.pattern)]
"""A gateway, device, trial or registry id in a pydantic model: the one ID pattern."""
MAX_PAYLOAD_BYTES = 256 * 1024
READINGS_SUFFIX = "readings"
STATUS_SUFFIX = "status"

FieldValue = float | int | bool | str
"""A value a reading may carry for a profile field."""


class WireError(ValueError):
    """A message that breaks the wire contract; `reason` is a dead-letter reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def is_valid_id(value: str) -> bool:
    """True when `value` is a valid gateway or device id."""
    return ID_PATTERN.fullmatch(value) is not None


def check_id(kind: str, value: str) -> str:
    """Return `value` if it is a valid id, else raise ValueError naming `kind`."""
    if not is_valid_id(value):
        raise ValueError(f"{kind} {value!r} must match {ID_PATTERN.pattern}")
    return value


def readings_topic(gateway_id: str, device_id: str) -> str:
    """Topic a gateway publishes a device's readings on."""
    check_id("gateway id", gateway_id)
    check_id("device id", device_id)
    return f"{TOPIC_ROOT}/{gateway_id}/{device_id}/{READINGS_SUFFIX}"


def status_topic(gateway_id: str) -> str:
    """Retained topic carrying a gateway's online/offline state."""
    check_id("gateway id", gateway_id)
    return f"{TOPIC_ROOT}/{gateway_id}/{STATUS_SUFFIX}"


READINGS_SUBSCRIPTION = f"{TOPIC_ROOT}/+/+/{READINGS_SUFFIX}"
STATUS_SUBSCRIPTION = f"{TOPIC_ROOT}/+/{STATUS_SUFFIX}"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed innotrial topic: readings (with device_id) or status (device_id None)."""

    gateway_id: str
    device_id: str | None
    kind: str

    @classmethod
    def parse(cls, topic: str) -> Topic:
        """Parse a topic string; raises WireError('bad_schema') when it is not ours."""
        parts = topic.split("/")
        if len(parts) == 5 and parts[4] == READINGS_SUFFIX:
            root, version, gateway_id, device_id = parts[0], parts[1], parts[2], parts[3]
        elif len(parts) == 4 and parts[3] == STATUS_SUFFIX:
            root, version, gateway_id, device_id = parts[0], parts[1], parts[2], None
        else:
            raise WireError("bad_schema", f"topic {topic!r} is not an innotrial v1 topic")
        if f"{root}/{version}" != TOPIC_ROOT:
            raise WireError("bad_schema", f"topic {topic!r} is not under {TOPIC_ROOT}/")
        if not is_valid_id(gateway_id):
            raise WireError("bad_schema", f"gateway id {gateway_id!r} is not a valid id")
        if device_id is not None and not is_valid_id(device_id):
            raise WireError("bad_schema", f"device id {device_id!r} is not a valid id")
        kind = READINGS_SUFFIX if device_id is not None else STATUS_SUFFIX
        return cls(gateway_id=gateway_id, device_id=device_id, kind=kind)


@dataclass(frozen=True, slots=True)
class Reading:
    """One validated reading of one device: its store key is (device_id, ts_ms)."""

    device_id: str
    ts_ms: int
    values: Mapping[str, FieldValue] = field(hash=False)

    def same_values(self, other: Reading) -> bool:
        """True when `other` carries exactly the same field values (a redelivery)."""
        return dict(self.values) == dict(other.values)


@dataclass(frozen=True, slots=True)
class ReceivedReading:
    """A reading with the time the ingest side received it (for latency)."""

    reading: Reading
    received_ms: int


@dataclass(frozen=True, slots=True)
class ReadingsMessage:
    """A decoded readings payload; `readings` are still raw mappings, validated per profile."""

    seq: int
    sent_ms: int
    readings: tuple[Mapping[str, Any], ...]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_readings_payload(payload: bytes) -> ReadingsMessage:
    """Decode and check the envelope of a readings payload.

    Raises WireError with reason payload_too_large, bad_json or bad_schema. The readings
    themselves are returned raw; `telemetry.validation` checks them against the profile.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError(
            "payload_too_large", f"{len(payload)} bytes exceeds the limit of {MAX_PAYLOAD_BYTES}"
        )
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise WireError("bad_json", f"not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise WireError("bad_schema", f"payload must be a JSON object, got {type(data).__name__}")
    if data.get("v") != WIRE_VERSION or not _is_int(data.get("v")):
        raise WireError("bad_schema", f"'v' must be {WIRE_VERSION}, got {data.get('v')!r}")
    seq, sent_ms, readings = data.get("seq"), data.get("sent_ms"), data.get("readings")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise WireError("bad_schema", f"'seq' must be a non-negative integer, got {seq!r}")
    if not isinstance(sent_ms, int) or isinstance(sent_ms, bool) or sent_ms < 0:
        raise WireError("bad_schema", f"'sent_ms' must be a non-negative integer, got {sent_ms!r}")
    if not isinstance(readings, list) or not readings:
        raise WireError("bad_schema", "'readings' must be a non-empty list")
    unknown = set(data) - {"v", "seq", "sent_ms", "readings"}
    if unknown:
        raise WireError("bad_schema", f"unknown envelope keys {sorted(unknown)}")
    return ReadingsMessage(seq=seq, sent_ms=sent_ms, readings=tuple(readings))


def encode_readings_payload(
    seq: int, sent_ms: int, readings: Iterable[Mapping[str, FieldValue]]
) -> bytes:
    """Encode a readings payload; each reading mapping must carry `ts_ms` and profile fields."""
    return orjson.dumps(
        {"v": WIRE_VERSION, "seq": seq, "sent_ms": sent_ms, "readings": list(readings)}
    )


def reading_to_wire(reading: Reading) -> dict[str, FieldValue]:
    """The wire form of a reading: ts_ms followed by its field values."""
    return {"ts_ms": reading.ts_ms, **reading.values}


def encode_status(state: str, **extra: Any) -> bytes:
    """Encode a gateway status payload such as {"state": "online", ...}."""
    return orjson.dumps({"state": state, **extra})


def decode_status(payload: bytes) -> dict[str, Any]:
    """Decode a gateway status payload; raises WireError on anything but an object with state."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise WireError("bad_json", f"status is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("state") not in ("online", "offline"):
        raise WireError("bad_schema", "status must be an object with state online or offline")
    return data


def is_finite_number(value: object) -> bool:
    """True for an int or finite float that is not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


__all__: Sequence[str] = (
    "MAX_PAYLOAD_BYTES",
    "READINGS_SUBSCRIPTION",
    "STATUS_SUBSCRIPTION",
    "Reading",
    "ReadingsMessage",
    "ReceivedReading",
    "Topic",
    "WireError",
    "decode_readings_payload",
    "decode_status",
    "encode_readings_payload",
    "encode_status",
    "readings_topic",
    "status_topic",
)
