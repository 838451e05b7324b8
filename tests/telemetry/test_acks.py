"""Wire contract v1 addition: confirmation and presence payloads (docs/wire-protocol.md)."""

from __future__ import annotations

import orjson
import pytest

from telemetry.acks import (
    MAX_ACK_RANGES,
    AckError,
    acks_topic,
    decode_acks,
    decode_presence,
    encode_acks,
    encode_presence,
    merge_ranges,
    presence_topic,
    presence_worker,
    to_ranges,
    worker_id_of,
)


def test_topics() -> None:
    assert acks_topic("gw-1") == "innotrial/v1/gw-1/acks"
    assert presence_topic("w1") == "innotrial/v1/_ingest/w1/state"
    assert presence_worker("innotrial/v1/_ingest/w1/state") == "w1"
    assert presence_worker("innotrial/v1/gw-1/acks") is None
    assert worker_id_of("Ingest.Worker#1") == "ingest-worker-1"
    assert worker_id_of("_x") == "w_x"
    with pytest.raises(ValueError, match="gateway id"):
        acks_topic("_ingest")


def test_ranges_round_trip_and_split_into_bounded_messages() -> None:
    assert to_ranges([5, 1, 2, 3, 3, 9]) == [(1, 3), (5, 5), (9, 9)]
    seqs = {"rg-a": list(range(1, 2 * MAX_ACK_RANGES * 2, 2)), "rg-b": [7, 8]}
    payloads = list(encode_acks(seqs))
    assert len(payloads) == 3
    decoded = [decode_acks(p) for p in payloads]
    assert all(sum(len(r) for r in d.values()) <= MAX_ACK_RANGES for d in decoded)
    merged = merge_ranges(decoded)
    assert merged["rg-b"] == [(7, 8)]
    assert [s for first, last in merged["rg-a"] for s in range(first, last + 1)] == seqs["rg-a"]
    assert merge_ranges([{"d": [(1, 2)]}, {"d": [(3, 4), (9, 9)]}]) == {"d": [(1, 4), (9, 9)]}


@pytest.mark.parametrize(
    "payload",
    [b"{", b"[]", b'{"v":2,"acks":{}}', b'{"v":1,"acks":[]}', b'{"v":1,"acks":{"X!":[[1,1]]}}',
     b'{"v":1,"acks":{"d":[[2,1]]}}', b'{"v":1,"acks":{"d":[[1,true]]}}',
     b'{"v":1,"acks":{"d":[[-1,1]]}}', b'{"v":1,"acks":{"d":[[1]]}}'],
)
def test_bad_confirmations_are_refused(payload: bytes) -> None:
    with pytest.raises(AckError):
        decode_acks(payload)


def test_presence() -> None:
    assert decode_presence(encode_presence("online", 5)) is True
    assert orjson.loads(encode_presence("online", 5)) == {"state": "online", "ts_ms": 5}
    assert decode_presence(encode_presence("offline")) is False
    assert decode_presence(b"") is False  # a cleared retained message
    with pytest.raises(AckError):
        decode_presence(b'{"state":"maybe"}')
