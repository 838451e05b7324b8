"""The paho client of the ingest worker, with a lean decoder for its most common packet.

For every MQTT 5 PUBLISH, paho builds a `Properties` object (two 27-entry tables, then a
`hasattr` and a `str.replace` per entry to clear them) even when the packet carries no
properties. At ingest rates that was half of the network thread's time, and the network
thread shares the GIL with validation and the store writer. `IngestClient` decodes a QoS 1
PUBLISH without properties itself, into the same `MQTTMessage` paho would deliver (its
`properties` is None instead of an empty `Properties`), and hands every other packet
(QoS 0 or 2, properties such as a topic alias, anything malformed) to paho unchanged.
tests/ingest/test_mqtt_client.py checks both paths against paho's own decoder.
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

_QOS_MASK = 0x06
_QOS_1 = 0x02
_DUP = 0x08
_RETAIN = 0x01


class IngestClient(mqtt.Client):
    """A paho `Client` whose MQTT 5 QoS 1 PUBLISH without properties skips `Properties`."""

    lean_publishes = 0
    """How many PUBLISH packets the lean decoder took (the rest went through paho)."""

    def _handle_publish(self) -> MQTTErrorCode:
        packet = self._in_packet
        header, body = packet["command"], packet["packet"]
        if self._protocol != mqtt.MQTTv5 or header & _QOS_MASK != _QOS_1 or len(body) < 5:
            return super()._handle_publish()
        # topic length (2), topic, packet id (2), properties length (1 byte when 0), payload
        topic_end = 2 + ((body[0] << 8) | body[1])
        if len(body) <= topic_end + 2 or body[topic_end + 2] != 0 or topic_end == 2:
            return super()._handle_publish()
        message = mqtt.MQTTMessage((body[topic_end] << 8) | body[topic_end + 1],
                                   bytes(body[2:topic_end]))
        message.dup = bool(header & _DUP)
        message.qos = 1
        message.retain = bool(header & _RETAIN)
        message.payload = bytes(body[topic_end + 3:])
        message.timestamp = mqtt.time_func()
        self.lean_publishes += 1
        self._handle_on_message(message)
        if self._manual_ack:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._send_puback(message.mid)
