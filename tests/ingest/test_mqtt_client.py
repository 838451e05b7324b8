"""IngestClient's lean PUBLISH decoder delivers exactly what paho's own decoder delivers."""

from __future__ import annotations

import struct
import threading

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.mqtt_client import IngestClient
from tests.services import Mosquitto

PUBLISH = 0x30


def publish_packet(topic: bytes, payload: bytes, *, qos: int = 1, mid: int = 1,
                   dup: bool = False, retain: bool = False, properties: bytes = b"\x00",
                   ) -> tuple[int, bytes]:
    """Fixed-header byte and body of an MQTT 5 PUBLISH (properties: length + entries)."""
    header = PUBLISH | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    return header, body + properties + payload


def deliver(client: mqtt.Client, header: int, body: bytes) -> list[mqtt.MQTTMessage]:
    """Feed one received packet to `client` as its network loop would; the delivered messages."""
    got: list[mqtt.MQTTMessage] = []
    client.on_message = lambda _c, _u, message: got.append(message)
    client._in_packet = {"command": header, "packet": body}  # type: ignore[typeddict-item]
    client._handle_publish()
    return got


def fields(message: mqtt.MQTTMessage) -> tuple[object, ...]:
    return (message.topic, message.payload, message.mid, message.qos, message.dup,
            message.retain)


def clients() -> tuple[IngestClient, mqtt.Client]:
    def make(cls: type[mqtt.Client]) -> mqtt.Client:
        return cls(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, manual_ack=True)

    lean = make(IngestClient)
    assert isinstance(lean, IngestClient)
    return lean, make(mqtt.Client)


@given(topic=st.text(min_size=1, max_size=80).map(str.encode), payload=st.binary(max_size=600),
       mid=st.integers(1, 65_535), dup=st.booleans(), retain=st.booleans())
def test_lean_path_delivers_what_paho_delivers(topic: bytes, payload: bytes, mid: int,
                                               dup: bool, retain: bool) -> None:
    lean, paho = clients()
    header, body = publish_packet(topic, payload, mid=mid, dup=dup, retain=retain)
    [ours] = deliver(lean, header, body)
    [theirs] = deliver(paho, header, body)
    assert fields(ours) == fields(theirs)
    assert lean.lean_publishes == 1


@pytest.mark.parametrize(("case", "packet"), [
    ("qos 0", publish_packet(b"a/b", b"{}", qos=0)),
    ("user property", publish_packet(b"a/b", b"{}", properties=b"\x07\x26\x00\x01k\x00\x01v")),
    ("topic alias only", publish_packet(b"", b"{}", properties=b"\x03\x23\x00\x05")),
    ("topic alias and topic", publish_packet(b"a/b", b"{}", properties=b"\x03\x23\x00\x05")),
])
def test_other_packets_take_paho_path(case: str, packet: tuple[int, bytes]) -> None:
    lean, paho = clients()
    ours, theirs = deliver(lean, *packet), deliver(paho, *packet)
    assert [fields(m) for m in ours] == [fields(m) for m in theirs], case
    assert [m.properties for m in ours] != [None] * len(ours)  # paho decoded the properties
    assert lean.lean_publishes == 0


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x00\x05abc", b"\x00\x03a/b\x00"])
def test_truncated_packet_raises_as_paho_does(body: bytes) -> None:
    lean, paho = clients()
    header = PUBLISH | 0x02
    errors: list[type[Exception] | None] = []
    for client in (lean, paho):
        try:
            deliver(client, header, body)
            errors.append(None)
        except Exception as exc:  # whatever paho raises, the lean client must raise too
            errors.append(type(exc))
    assert errors[0] == errors[1]
    assert lean.lean_publishes == 0


def test_real_broker_delivers_through_both_paths(mosquitto: Mosquitto) -> None:
    """QoS 1 without properties goes the lean way, the rest through paho; all arrive intact."""
    received: list[tuple[str, bytes | bytearray, int]] = []
    done = threading.Event()
    expected = 5
    subscriber = IngestClient(CallbackAPIVersion.VERSION2, client_id="lean-test",
                              protocol=mqtt.MQTTv5, manual_ack=True)

    def on_message(client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append((message.topic, message.payload, message.qos))
        if message.qos:
            client.ack(message.mid, message.qos)
        if len(received) == expected:
            done.set()

    subscribed = threading.Event()
    subscriber.on_message = on_message
    subscriber.on_subscribe = lambda *_args: subscribed.set()
    subscriber.connect("127.0.0.1", mosquitto.port)
    subscriber.loop_start()
    subscriber.subscribe("lean/#", qos=1)
    assert subscribed.wait(10)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.UserProperty = ("k", "v")
    infos = [publisher.publish("lean/a", b"one", qos=1),
             publisher.publish("lean/b", b"\x00two", qos=1),
             publisher.publish("lean/c", b"", qos=1),
             publisher.publish("lean/d", b"with properties", qos=1, properties=props),
             publisher.publish("lean/e", b"qos 0", qos=0)]
    for info in infos:
        info.wait_for_publish(10)
    try:
        assert done.wait(10)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        subscriber.disconnect()
        subscriber.loop_stop()
    assert sorted(received) == [("lean/a", b"one", 1), ("lean/b", b"\x00two", 1),
                                ("lean/c", b"", 1), ("lean/d", b"with properties", 1),
                                ("lean/e", b"qos 0", 0)]
    assert subscriber.lean_publishes == 3
