"""A load generator: publish valid rain_gauge readings payloads with QoS 1 (tests and bench).

Run as `python -m tests.ingest.publisher PORT GATEWAY DEVICE MESSAGES [--per-message N]
[--start-ts-ms T] [--seq-start S]`; prints the number of PUBACKed messages.
"""

from __future__ import annotations

import argparse
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from telemetry.wire import encode_readings_payload, readings_topic

PERIOD_MS = 1000


def payload_for(seq: int, per_message: int, start_ts_ms: int, sent_ms: int) -> bytes:
    """Message `seq` (0-based from start_ts_ms): per_message readings 1 s apart."""
    base = start_ts_ms + seq * per_message * PERIOD_MS
    readings = [
        {"ts_ms": base + i * PERIOD_MS, "rain_mm": float((seq + i) % 7) / 10.0, "battery_v": 3.6}
        for i in range(per_message)
    ]
    return encode_readings_payload(seq, sent_ms, readings)


def publish(port: int, gateway_id: str, device_id: str, messages: int, *, per_message: int = 60,
            start_ts_ms: int, seq_start: int = 0, rate_msgs_s: float | None = None,
            client_id: str | None = None, stamp_sent: bool = False) -> int:
    """Publish messages seq_start..seq_start+messages-1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    acked = 0
    done = threading.Event()
    lock = threading.Lock()

    def on_publish(*_args: object) -> None:
        nonlocal acked
        with lock:
            acked += 1
            if acked >= messages:
                done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    topic = readings_topic(gateway_id, device_id)
    started = time.monotonic()
    for n in range(messages):
        seq = seq_start + n
        if rate_msgs_s:
            delay = started + n / rate_msgs_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent_ms = time.time_ns() // 1_000_000 if stamp_sent else start_ts_ms
        client.publish(topic, payload_for(seq, per_message, start_ts_ms, sent_ms), qos=1)
    if messages:
        done.wait(300)
    client.disconnect()
    client.loop_stop()
    return acked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("gateway_id")
    parser.add_argument("device_id")
    parser.add_argument("messages", type=int)
    parser.add_argument("--per-message", type=int, default=60)
    parser.add_argument("--start-ts-ms", type=int, required=True)
    parser.add_argument("--seq-start", type=int, default=0)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--stamp-sent", action="store_true")
    args = parser.parse_args()
    print(publish(args.port, args.gateway_id, args.device_id, args.messages,
                  per_message=args.per_message, start_ts_ms=args.start_ts_ms,
                  seq_start=args.seq_start, rate_msgs_s=args.rate, stamp_sent=args.stamp_sent),
          flush=True)


if __name__ == "__main__":
    main()
