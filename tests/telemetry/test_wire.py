"""Wire contract v1: topics and the readings payload envelope."""

from __future__ import annotations

import pytest

from telemetry.wire import (
    MAX_PAYLOAD_BYTES,
    READINGS_SUBSCRIPTION,
    Reading,
    Topic,
    WireError,
    decode_readings_payload,
    decode_status,
    encode_readings_payload,
    encode_status,
    is_plain_int,
    is_valid_id,
    reading_to_wire,
    readings_topic,
    status_topic,
)


def test_topics_build_and_parse_back() -> None:
    topic = readings_topic("gw-hq-01", "rg-dut-01")
    assert topic == "innotrial/v1/gw-hq-01/rg-dut-01/readings"
    assert Topic.parse(topic) == Topic("gw-hq-01", "rg-dut-01", "readings")
    assert status_topic("gw_2") == "innotrial/v1/gw_2/status"
    assert Topic.parse("innotrial/v1/gw_2/status") == Topic("gw_2", None, "status")
    assert READINGS_SUBSCRIPTION == "innotrial/v1/+/+/readings"


@pytest.mark.parametrize(
    "topic",
    [
        "innotrial/v2/gw/dev/readings",
        "other/v1/gw/dev/readings",
        "innotrial/v1/gw/dev/status",
        "innotrial/v1/gw/readings",
        "innotrial/v1/gw/dev/readings/extra",
        "innotrial/v1/GW/dev/readings",
        "innotrial/v1/gw/-dev/readings",
        "innotrial/v1//status",
        "innotrial/v1/" + "g" * 65 + "/status",
    ],
)
def test_foreign_or_malformed_topics_are_bad_schema(topic: str) -> None:
    with pytest.raises(WireError) as caught:
        Topic.parse(topic)
    assert caught.value.reason == "bad_schema"
    assert topic[:20] in caught.value.detail or "id" in caught.value.detail


@pytest.mark.parametrize("bad_id", ["", "Upper", "-lead", "has space", "a/b", "x" * 65, "é"])
def test_invalid_ids_cannot_build_topics(bad_id: str) -> None:
    assert not is_valid_id(bad_id)
    with pytest.raises(ValueError, match="device id"):
        readings_topic("gw-1", bad_id)
    with pytest.raises(ValueError, match="gateway id"):
        status_topic(bad_id)


def test_payload_round_trip() -> None:
    reading = Reading("rg-1", 1_764_201_540_000, {"rain_mm": 0.2, "battery_v": 3.61})
    payload = encode_readings_payload(1042, 1_764_201_601_234, [reading_to_wire(reading)])
    message = decode_readings_payload(payload)
    assert (message.seq, message.sent_ms) == (1042, 1_764_201_601_234)
    assert message.readings == ({"ts_ms": 1_764_201_540_000, "rain_mm": 0.2, "battery_v": 3.61},)


ENVELOPE_CASES = [
    (b'{"v":1,"seq":1,"sent_ms":1,"readings":[{"ts_ms":1,"rain_mm":NaN}]}', "bad_json"),
    (b'{"v":1,"seq":1,"sent_ms":1,"readings":[{"ts_ms":1,"rain_mm":Infinity}]}', "bad_json"),
    (b'{"v":1,"seq":1,"sent_ms":1,"readings":[{"ts_ms":1,"rain_mm":-Infinity}]}', "bad_json"),
    (b'{"v":1,"seq":1,', "bad_json"),
    (b"\xff\xfe{}", "bad_json"),
    (b"", "bad_json"),
    (b"[1, 2]", "bad_schema"),
    (b'{"seq":1,"sent_ms":1,"readings":[{}]}', "bad_schema"),
    (b'{"v":2,"seq":1,"sent_ms":1,"readings":[{}]}', "bad_schema"),
    (b'{"v":true,"seq":1,"sent_ms":1,"readings":[{}]}', "bad_schema"),
    (b'{"v":1,"seq":-1,"sent_ms":1,"readings":[{}]}', "bad_schema"),
    (b'{"v":1,"seq":1.0,"sent_ms":1,"readings":[{}]}', "bad_schema"),
    (b'{"v":1,"seq":true,"sent_ms":1,"readings":[{}]}', "bad_schema"),
    (b'{"v":1,"seq":1,"sent_ms":"now","readings":[{}]}', "bad_schema"),
    (b'{"v":1,"seq":1,"sent_ms":1,"readings":[]}', "bad_schema"),
    (b'{"v":1,"seq":1,"sent_ms":1,"readings":{"ts_ms":1}}', "bad_schema"),
    (b'{"v":1,"seq":1,"sent_ms":1,"readings":[{}],"extra":1}', "bad_schema"),
]


@pytest.mark.parametrize(("payload", "reason"), ENVELOPE_CASES)
def test_broken_envelopes_get_reason_codes(payload: bytes, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        decode_readings_payload(payload)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_payload_size_limit_is_inclusive() -> None:
    head = b'{"v":1,"seq":1,"sent_ms":1,"readings":[{"ts_ms":1,"note":"'
    tail = b'"}]}'
    exact = head + b"x" * (MAX_PAYLOAD_BYTES - len(head) - len(tail)) + tail
    assert len(decode_readings_payload(exact).readings) == 1
    with pytest.raises(WireError) as caught:
        decode_readings_payload(exact[:-4] + b'x"}]}')
    assert caught.value.reason == "payload_too_large"


def test_large_numbers_decode_for_range_checks() -> None:
    message = decode_readings_payload(b'{"v":1,"seq":1,"sent_ms":1,"readings":[{"ts_ms":1,"rain_mm":1e308}]}')
    assert message.readings[0]["rain_mm"] == 1e308


def test_status_payloads() -> None:
    assert decode_status(encode_status("online", version="1")) == {"state": "online", "version": "1"}
    assert decode_status(b'{"state":"offline"}')["state"] == "offline"
    for payload, reason in ((b"{", "bad_json"), (b'{"state":"maybe"}', "bad_schema"), (b"[]", "bad_schema")):
        with pytest.raises(WireError) as caught:
            decode_status(payload)
        assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("value", "plain"),
    [(1, True), (-(2**70), True), (True, False), (1.0, False), ("1", False), (None, False)],
)
def test_is_plain_int(value: object, plain: bool) -> None:
    assert is_plain_int(value) is plain


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"v":1,"seq":9223372036854775808,"sent_ms":1,"readings":[{}]}', "bad_schema"),
        (b'{"v":1,"seq":-1,"sent_ms":1,"readings":[{}]}', "bad_schema"),
        (b'{"v":1,"seq":1e400,"sent_ms":1,"readings":[{}]}', "bad_json"),
        (b'{"v":1,"seq":1,"sent_ms":18446744073709551615,"readings":[{}]}', "bad_schema"),
        (b'{"v":1,"seq":1,"sent_ms":100000000000000000000000,"readings":[{}]}', "bad_schema"),
        (b'{"v":1,"seq":1,"seq":2,"sent_ms":1,"readings":[{}]}', "bad_json"),
        (b'{"v": 1, "seq": 1, "sent_ms": 1, "readings": [{"ts_ms": 1, "a": 1, "a": 2}]}', "bad_json"),
        (b'{"v":1,"seq":1,"sent_ms":1,"readings":' + b"[" * 2000 + b"]" * 2000 + b"}", "bad_json"),
    ],
)
def test_envelope_integers_fit_64_bits_and_repeated_keys_are_bad_json(payload: bytes, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        decode_readings_payload(payload)
    assert caught.value.reason == reason


def test_the_largest_integers_and_a_spaced_payload_without_repeats_decode() -> None:
    largest = decode_readings_payload(b'{"v":1,"seq":9223372036854775807,"sent_ms":0,"readings":[{}]}')
    assert largest.seq == 2**63 - 1
    spaced = decode_readings_payload(b'{ "v": 1, "seq": 2, "sent_ms": 3, "readings": [ {"ts_ms": 4} ] }')
    assert (spaced.seq, spaced.sent_ms, spaced.readings) == (2, 3, ({"ts_ms": 4},))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"state":"online","ts_ms":9223372036854775807}', "bad_schema"),
        (b'{"state":"online","ts_ms":946684799999}', "bad_schema"),
        (b'{"state":"online","sent_ms":"1"}', "bad_schema"),
        (b'{"state":"online","buffer_depth":9223372036854775808}', "bad_schema"),
        (b'{"state":"online","detail":{"a":1}}', "bad_schema"),
        (b'{"state":"online","note":"' + b"x" * 300 + b'"}', "bad_schema"),
        (b'{"ts_ms":1764201600000}', "bad_schema"),
        (b'{"state":"online","state":"offline"}', "bad_json"),
        (b'{"state":"online","age_s":NaN}', "bad_json"),
        (encode_status("online", note="x" * 5000), "payload_too_large"),
    ],
)
def test_status_is_bounded(payload: bytes, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        decode_status(payload)
    assert caught.value.reason == reason


def test_a_gateways_own_status_is_accepted() -> None:
    payload = encode_status("online", gateway_id="gw-1", version="0.2.0", ts_ms=1_764_201_600_000,
                            buffer_messages=12, oldest_unsent_age_s=None, clock_plausible=True)
    assert decode_status(payload)["ts_ms"] == 1_764_201_600_000
