"""Turn one received MQTT message into readings to store and dead letters to keep.

Pure logic, no I/O: the writer thread calls `MessageProcessor.process` for each message and
commits the results of many messages as one batch. Checks, in order: topic (bad_schema),
size (payload_too_large), gateway known (unknown_gateway), device known (unknown_device),
device assigned to the gateway (device_not_on_gateway; these three are the registry's
`DeviceDirectory.sender_problem`), envelope (bad_json, bad_schema), then each reading
against the device's profile (`telemetry.validation`). Failures before the readings are
message-level: one dead letter for the whole message. Failures of a reading are one dead
letter each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson

from device_profiles import UnknownProfile, get_profile
from ingest.logfmt import kv
from registry.dead_letters import DeadLetterRecord, payload_excerpt
from registry.queries import DeviceDirectory
from telemetry.blocks import ReadingBlock, blocks_of_readings, expand_blocks
from telemetry.validation import ReadingValidator, Rejection, reading_validator
from telemetry.wire import (
    MAX_PAYLOAD_BYTES,
    Reading,
    ReceivedReading,
    Topic,
    WireError,
    decode_readings_payload,
    decode_status,
)

SOURCE_MQTT = "mqtt"
log = logging.getLogger("innotrial.ingest")


@dataclass(slots=True)
class InboundMessage:
    """A message as the network thread hands it over; `generation` counts connections, `dup`
    is MQTT's flag for a message the broker sent before (possibly committed already)."""

    topic: str
    payload: bytes
    received_ms: int
    mid: int = 0
    qos: int = 0
    generation: int = 0
    dup: bool = False


@dataclass(slots=True)
class Processed:
    """What one message contributes to a batch; its valid readings are `blocks`."""

    message: InboundMessage
    blocks: list[ReadingBlock] = field(default_factory=list)
    seq: tuple[str, int] | None = None
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    status: tuple[str, dict[str, Any]] | None = None
    gateway_id: str | None = None
    sent_ms: int | None = None

    @property
    def reading_count(self) -> int:
        """Number of valid readings."""
        return sum(map(len, self.blocks))

    @property
    def readings(self) -> list[ReceivedReading]:
        """The valid readings, in message order (the blocks' own objects, see ReadingBlock)."""
        return expand_blocks(self.blocks)


def reading_excerpt(raw: Any) -> str:
    """A bounded JSON excerpt of one raw reading for its dead letter."""
    try:
        encoded = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        encoded = repr(raw).encode("utf-8", errors="backslashreplace")
    return payload_excerpt(encoded)


class MessageProcessor:
    """Validates messages against a registry snapshot and the device profiles."""

    def __init__(self, directory: DeviceDirectory, source: str = SOURCE_MQTT) -> None:
        self.directory = directory
        self.source = source
        self._validators: dict[str, ReadingValidator] = {}

    def validator(self, profile_name: str) -> ReadingValidator:
        """The compiled validator of a profile (cached by name); raises UnknownProfile."""
        found = self._validators.get(profile_name)
        if found is None:
            found = self._validators[profile_name] = reading_validator(get_profile(profile_name))
        return found

    def _reject(self, out: Processed, reason: str, detail: str, *, device_id: str | None = None,
                seq: int | None = None) -> Processed:
        msg = out.message
        out.dead_letters.append(DeadLetterRecord(
            received_ms=msg.received_ms, reason=reason, detail=detail, source=self.source,
            topic=msg.topic, gateway_id=out.gateway_id, device_id=device_id, seq=seq,
            payload_excerpt=payload_excerpt(msg.payload), redelivered=msg.dup,
        ))
        return out

    def process(self, msg: InboundMessage) -> Processed:
        """Validate one message; never raises for anything a sender can put on the wire."""
        out = Processed(message=msg)
        try:
            topic = Topic.parse(msg.topic)
        except WireError as exc:
            return self._reject(out, exc.reason, exc.detail)
        out.gateway_id = topic.gateway_id
        if topic.device_id is None:
            return self._process_status(out, topic.gateway_id)
        device_id = topic.device_id
        if len(msg.payload) > MAX_PAYLOAD_BYTES:
            return self._reject(out, "payload_too_large",
                                f"{len(msg.payload)} bytes exceeds the limit of "
                                f"{MAX_PAYLOAD_BYTES}",
                                device_id=device_id)
        problem = self.directory.sender_problem(topic.gateway_id, device_id)
        if problem is not None:
            return self._reject(out, problem[0], problem[1], device_id=device_id)
        try:
            decoded = decode_readings_payload(msg.payload)
        except WireError as exc:
            return self._reject(out, exc.reason, exc.detail, device_id=device_id)
        out.seq = (device_id, decoded.seq)
        out.sent_ms = decoded.sent_ms
        entry = self.directory.devices[device_id]
        try:
            validator = self.validator(entry.profile)
        except UnknownProfile:
            return self._reject(out, "bad_schema", f"device profile {entry.profile!r} is unknown",
                                device_id=device_id, seq=decoded.seq)
        self._validate_readings(out, validator, device_id, decoded.seq, decoded.readings)
        return out

    def _validate_readings(self, out: Processed, validator: ReadingValidator, device_id: str,
                           seq: int, raws: tuple[Any, ...]) -> None:
        msg = out.message
        received_ms = msg.received_ms
        block = validator.validate_message(device_id, raws, received_ms)
        if block is not None:
            out.blocks.append(block)
            return
        readings: list[Reading] = []
        validate = validator.validate
        for raw in raws:
            result = validate(device_id, raw, received_ms)
            if type(result) is Rejection:
                out.dead_letters.append(DeadLetterRecord(
                    received_ms=received_ms, reason=result.reason, detail=result.detail,
                    source=self.source, topic=msg.topic, gateway_id=out.gateway_id,
                    device_id=device_id, seq=seq, ts_ms=result.ts_ms,
                    payload_excerpt=reading_excerpt(raw), redelivered=msg.dup,
                ))
            else:
                readings.append(result)  # type: ignore[arg-type]
        out.blocks = blocks_of_readings(device_id, received_ms, readings)

    def _process_status(self, out: Processed, gateway_id: str) -> Processed:
        msg = out.message
        if not msg.payload:
            return out  # a cleared retained status: nothing to record
        try:
            status = decode_status(msg.payload)
        except WireError as exc:  # dead-lettered (and so counted) like any refused message
            log.warning(kv("status_refused", gateway=gateway_id, reason=exc.reason,
                           detail=exc.detail[:200], redelivered=msg.dup))
            return self._reject(out, exc.reason, exc.detail)
        if gateway_id not in self.directory.gateways:
            return self._reject(out, "unknown_gateway",
                                f"status from gateway {gateway_id!r}, which is not registered")
        out.status = (gateway_id, status)
        return out
