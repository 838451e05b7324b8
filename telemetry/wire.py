"""Wire contract v1: topics, the readings payload, and typed readings.

See docs/wire-protocol.md for the vendor-facing description.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeGuard

import orjson
from pydantic import Field

WIRE_VERSION = 1
TOPIC_ROOT = "innotrial/v1"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
IdStr = Annotated[str, Field(pattern=ID_PATTERN.pattern)]
"""A gateway, device, trial or registry id in a pydantic model: the one ID pattern."""
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_STATUS_BYTES = 4 * 1024
READINGS_SUFFIX = "readings"
STATUS_SUFFIX = "status"

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Every integer on the wire fits a signed 64-bit integer, as both stores require."""
MIN_TS_MS = 946_684_800_000
"""2000-01-01T00:00:00Z: no reading or status of a trial is older."""
MAX_TS_MS = INT64_MAX // 1_000_000
"""2262-04-11: the newest time InfluxDB can hold (nanoseconds in a signed 64-bit integer)."""
MAX_STATUS_STRING = 256

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


RawReading = Mapping[str, Any]
"""A reading as it came off the wire (`ts_ms` and field values), not yet checked against its
profile; validation turns it into a `Reading` or a rejection."""


@dataclass(frozen=True, slots=True)
class ReadingsEnvelope:
    """A decoded readings payload: the checked envelope around still unvalidated readings."""

    seq: int
    sent_ms: int
    readings: tuple[RawReading, ...]


def is_plain_int(value: object) -> bool:
    """True for an int that is not a bool (a bool is an int to Python, not to the wire)."""
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def is_int64(value: object) -> TypeGuard[int]:
    """True for an int (not a bool) that fits a signed 64-bit integer."""
    return is_plain_int(value) and INT64_MIN <= value <= INT64_MAX  # type: ignore[operator]


def is_seq(value: object) -> TypeGuard[int]:
    """True for a valid message seq: an integer from 0 to the int64 maximum."""
    return is_int64(value) and value >= 0


def is_wire_ts_ms(value: object) -> TypeGuard[int]:
    """True for an integer ts_ms from 2000-01-01 to the end of InfluxDB's range."""
    return is_plain_int(value) and MIN_TS_MS <= value <= MAX_TS_MS  # type: ignore[operator]


def ts_ms_problem(name: str, value: object) -> str | None:
    """Why `value` is not a valid timestamp in ms for the key `name`, or None."""
    if is_wire_ts_ms(value):
        return None
    return (f"{name!r} must be an integer in ms from {MIN_TS_MS} (2000-01-01) to {MAX_TS_MS}, "
            f"got {value!r}")[:300]


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise WireError("bad_json", f"repeated key(s) {repeated[:5]} in one JSON object"[:300])
    return dict(pairs)


def loads_strict(payload: bytes, what: str = "payload") -> Any:
    """Parse JSON, refusing what parsers disagree on: invalid UTF-8 or JSON, and an object
    with a repeated key (WireError bad_json).

    orjson parses; a payload that orjson serialises back to the very same bytes has no
    repeated key (the usual compact payload, so this costs one fast dumps). Any other is
    parsed again with the standard library to look for repeated keys. An integer literal
    beyond 64 bits reaches the checks as orjson's float, so it is never taken for an integer
    (seq, ts_ms and int fields refuse it); one from 2**63 to 2**64 - 1 stays an int and is
    refused by the int64 bounds.
    """
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise WireError("bad_json", f"{what} is not valid UTF-8 JSON: {exc}") from exc
    try:
        if orjson.dumps(data) == payload:
            return data
    except orjson.JSONEncodeError:
        pass  # an integer beyond 64 bits: check the text the slow way
    try:
        json.loads(payload, object_pairs_hook=_refuse_repeated_keys)
    except WireError:
        raise
    except RecursionError as exc:
        raise WireError("bad_json", f"{what} is nested too deeply") from exc
    except ValueError as exc:  # not one JSON document for the standard library either
        raise WireError("bad_json", f"{what} is not valid JSON: {exc}"[:300]) from exc
    return data


def decode_readings_payload(payload: bytes) -> ReadingsEnvelope:
    """Decode and check the envelope of a readings payload.

    Raises WireError with reason payload_too_large, bad_json or bad_schema. The readings
    themselves are returned raw; `telemetry.validation` checks them against the profile.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError(
            "payload_too_large", f"{len(payload)} bytes exceeds the limit of {MAX_PAYLOAD_BYTES}"
        )
    data = loads_strict(payload)
    if not isinstance(data, dict):
        raise WireError("bad_schema", f"payload must be a JSON object, got {type(data).__name__}")
    if data.get("v") != WIRE_VERSION or not is_plain_int(data.get("v")):
        raise WireError("bad_schema", f"'v' must be {WIRE_VERSION}, got {data.get('v')!r}"[:300])
    seq, sent_ms, readings = data.get("seq"), data.get("sent_ms"), data.get("readings")
    if not is_seq(seq):
        raise WireError("bad_schema",
                        f"'seq' must be an integer from 0 to {INT64_MAX}, got {seq!r}"[:300])
    if not is_int64(sent_ms) or sent_ms < 0:
        raise WireError("bad_schema",
                        f"'sent_ms' must be an integer from 0 to {INT64_MAX}, "
                        f"got {sent_ms!r}"[:300])
    if not isinstance(readings, list) or not readings:
        raise WireError("bad_schema", "'readings' must be a non-empty list")
    unknown = set(data) - {"v", "seq", "sent_ms", "readings"}
    if unknown:
        raise WireError("bad_schema", f"unknown envelope keys {sorted(unknown)}")
    return ReadingsEnvelope(seq=seq, sent_ms=sent_ms, readings=tuple(readings))


def encode_readings_body(readings: Iterable[Mapping[str, FieldValue]]) -> bytes:
    """Readings as the inside of the envelope's list: JSON objects separated by commas (the
    gateway buffers readings in this form and seals messages from it)."""
    return orjson.dumps(list(readings))[1:-1]


def encode_envelope(seq: int, sent_ms: int, bodies: Iterable[bytes]) -> bytes:
    """The one readings-payload encoder: the envelope around readings bodies
    (`encode_readings_body`), spliced as bytes so that no reading is encoded twice."""
    head = b'{"v":%d,"seq":%d,"sent_ms":%d,"readings":[' % (WIRE_VERSION, seq, sent_ms)
    return head + b",".join(bodies) + b"]}"


def encode_readings_payload(
    seq: int, sent_ms: int, readings: Iterable[Mapping[str, FieldValue]]
) -> bytes:
    """Encode a readings payload; each reading mapping must carry `ts_ms` and profile fields."""
    return encode_envelope(seq, sent_ms, [encode_readings_body(readings)])


def reading_to_wire(reading: Reading) -> dict[str, FieldValue]:
    """The wire form of a reading: ts_ms followed by its field values."""
    return {"ts_ms": reading.ts_ms, **reading.values}


def encode_status(state: str, **extra: Any) -> bytes:
    """Encode a gateway status payload such as {"state": "online", ...}."""
    return orjson.dumps({"state": state, **extra})


def _status_value_problem(name: str, value: object) -> str | None:
    """Why one value of a status object is refused (None when it is a bounded scalar)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if is_int64(value) else f"{name!r} does not fit a 64-bit integer"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{name!r} is not a finite number"
    if isinstance(value, str):
        if len(value) <= MAX_STATUS_STRING:
            return None
        return f"{name!r} is longer than {MAX_STATUS_STRING} characters"
    return f"{name!r} must be a string, number, boolean or null, got {type(value).__name__}"


def decode_status(payload: bytes) -> dict[str, Any]:
    """Decode a gateway status payload: an object of at most MAX_STATUS_BYTES with `state`
    online or offline, `ts_ms` and `sent_ms` (when present) valid timestamps, every other
    value a bounded scalar. Raises WireError (payload_too_large, bad_json, bad_schema)."""
    if len(payload) > MAX_STATUS_BYTES:
        raise WireError("payload_too_large",
                        f"status of {len(payload)} bytes exceeds the limit of {MAX_STATUS_BYTES}")
    data = loads_strict(payload, "status")
    if not isinstance(data, dict) or data.get("state") not in ("online", "offline"):
        raise WireError("bad_schema", "status must be an object with state online or offline")
    for name, value in data.items():
        if name in ("ts_ms", "sent_ms"):
            problem = ts_ms_problem(name, value)
        else:
            problem = _status_value_problem(name, value)
        if problem is not None:
            raise WireError("bad_schema", f"status: {problem}"[:300])
    return data


__all__: Sequence[str] = (
    "INT64_MAX",
    "INT64_MIN",
    "MAX_PAYLOAD_BYTES",
    "MAX_STATUS_BYTES",
    "MAX_TS_MS",
    "MIN_TS_MS",
    "READINGS_SUBSCRIPTION",
    "STATUS_SUBSCRIPTION",
    "RawReading",
    "Reading",
    "ReadingsEnvelope",
    "ReceivedReading",
    "Topic",
    "WireError",
    "decode_readings_payload",
    "decode_status",
    "encode_envelope",
    "encode_readings_body",
    "encode_readings_payload",
    "encode_status",
    "is_int64",
    "is_plain_int",
    "is_seq",
    "is_wire_ts_ms",
    "loads_strict",
    "readings_topic",
    "status_topic",
)
