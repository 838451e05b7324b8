"""Reading validation throughput, against parsing the same payload, measured side by side.

    .venv/bin/python bench/validation.py [--readings 60] [--messages 3000]

One readings payload of a rain gauge (`--readings` readings, three float fields) is decoded
(`telemetry.wire.decode_readings_payload`: orjson, repeated-key check, envelope) and then
validated by `telemetry.validation`: whole-message (`validate_message`, the usual path of
ingest) and reading by reading (`validate`, what the gateway's drivers and `readings import`
use, and ingest for a message with mixed shapes). The baseline is `orjson.loads` of the same
payload. When msgspec is installed (`pip install msgspec`, not a dependency), a typed
msgspec decode of the same payload into per-profile structs is shown as well, the
alternative measured before this design was chosen. Best of 5 rounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_profiles import get_profile
from telemetry.validation import reading_validator
from telemetry.wire import MAX_TS_MS, MIN_TS_MS, decode_readings_payload, encode_readings_payload

NOW_MS = 1_800_000_000_000


def payload_of(count: int) -> bytes:
    readings = [{"ts_ms": NOW_MS - 60_000 * (count - i), "rain_mm": round(0.01 * (i % 37), 2),
                 "battery_v": 12.5, "rssi_dbm": -70.0} for i in range(count)]
    return encode_readings_payload(7, NOW_MS, readings)


def best_rate(run: Callable[[], Any], messages: int, readings: int) -> float:
    run()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(messages):
            run()
        best = min(best, time.perf_counter() - start)
    return messages * readings / best


def msgspec_decoder() -> Callable[[bytes], Any] | None:
    """A typed msgspec decode of the rain gauge envelope, or None without msgspec."""
    try:
        import msgspec
    except ImportError:
        return None

    def bounded(low: float, high: float) -> Any:
        return Annotated[float, msgspec.Meta(ge=low, le=high)]

    struct: Any = msgspec.defstruct
    rain = struct("Rain", [
        ("ts_ms", Annotated[int, msgspec.Meta(ge=MIN_TS_MS, le=MAX_TS_MS)]),
        ("rain_mm", bounded(0, 100)),
        ("battery_v", bounded(0, 30) | None, None),
        ("rssi_dbm", bounded(-150, 0) | None, None),
    ], forbid_unknown_fields=True)
    envelope = struct("Envelope", [
        ("v", int), ("seq", Annotated[int, msgspec.Meta(ge=0)]),
        ("sent_ms", Annotated[int, msgspec.Meta(ge=0)]), ("readings", list[rain]),
    ], forbid_unknown_fields=True)
    decoder = msgspec.json.Decoder(envelope)

    def decode(payload: bytes) -> Any:
        return [msgspec.structs.astuple(r) for r in decoder.decode(payload).readings]

    return decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=60, help="readings per message")
    parser.add_argument("--messages", type=int, default=3000, help="messages per round")
    args = parser.parse_args()
    payload, count = payload_of(args.readings), args.readings
    validator = reading_validator(get_profile("rain_gauge"))

    def whole_message() -> Any:
        readings = decode_readings_payload(payload).readings
        block = validator.validate_message("rg-1", readings, NOW_MS)
        assert block is not None and len(block) == count
        return block

    def per_reading() -> Any:
        readings = decode_readings_payload(payload).readings
        return [validator.validate("rg-1", raw, NOW_MS) for raw in readings]

    print(f"{args.messages:,} messages x {count} readings (rain gauge, 3 float fields), "
          f"best of 5")
    baseline = best_rate(lambda: orjson.loads(payload), args.messages, count)
    print(f"  baseline: orjson.loads            {baseline:12,.0f} readings/s")
    runs = [("decode + validate_message", whole_message), ("decode + validate per reading",
                                                             per_reading)]
    decode = msgspec_decoder()
    if decode is not None:
        runs.append(("msgspec typed decode", lambda: decode(payload)))
    for name, run in runs:
        rate = best_rate(run, args.messages, count)
        print(f"  {name:32s} {rate:12,.0f} readings/s  ratio to orjson.loads {rate / baseline:.2f}")
    if decode is None:
        print("  (msgspec not installed: its typed decode is not shown)")


if __name__ == "__main__":
    main()
