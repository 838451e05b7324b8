"""The window of sent, unconfirmed messages: room, PUBACK, confirmation, timeouts, reconnects."""

from __future__ import annotations

from gateway.window import Window


def _filled(size: int = 4) -> Window:
    window = Window(size, timeout_s=10.0, timeout_max_s=40.0)
    for n in range(1, size + 1):
        window.sent(message_id=100 + n, device_id="rg-1", seq=n, mid=n, now=0.0)
    return window


def test_room_and_cursor_follow_what_is_sent_and_confirmed() -> None:
    window = _filled()
    assert window.room == 0 and window.cursor == 104 and len(window) == 4
    assert window.confirmed({"rg-1": [(2, 3)], "rg-2": [(1, 9)]}) == 2
    assert window.room == 2 and window.cursor == 104
    window.forget([101, 999])
    assert len(window) == 1


def test_only_pubacked_messages_time_out_with_backoff() -> None:
    window = _filled()
    window.pubacked(1)
    window.pubacked(2)
    assert window.due(9.9) == [] and window.due(10.0) == [101, 102]  # 3, 4: no PUBACK yet
    window.sent(101, "rg-1", 1, mid=7, now=10.0)  # a re-send: 20 s, then 40 s (the maximum)
    window.pubacked(1)  # the PUBACK of the old copy's id does not count for the new copy
    assert window.due(1000.0) == [102]
    window.pubacked(7)
    assert window.due(29.9) == [102] and window.due(30.0) == [101, 102]
    window.sent(101, "rg-1", 1, mid=8, now=30.0)
    window.pubacked(8)
    window.sent(101, "rg-1", 1, mid=9, now=30.0)
    window.pubacked(9)
    assert 101 not in window.due(69.9) and 101 in window.due(70.0)


def test_reconnect_resends_unpubacked_and_everything_without_session() -> None:
    window = _filled()
    window.pubacked(1)
    window.reconnected(session_present=True)
    assert window.due(0.0) == [102, 103, 104]  # their PUBACK never came
    window = _filled()
    window.pubacked(1)
    window.reconnected(session_present=False)
    assert window.due(0.0) == [101, 102, 103, 104]
    window.restart_timers(5.0)  # ingest coming online does not delay what must go at once
    assert window.due(0.0) == [101, 102, 103, 104]


def test_ingest_back_online_restarts_timers() -> None:
    window = _filled()
    for mid in range(1, 5):
        window.pubacked(mid)
    window.sent(101, "rg-1", 1, mid=5, now=10.0)
    window.pubacked(5)
    window.restart_timers(100.0)
    assert window.due(109.9) == [] and window.due(110.0) == [101, 102, 103, 104]
