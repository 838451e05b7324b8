"""The window of sent, unconfirmed messages (delivery: confirm; docs/store-and-forward.md).

Pure bookkeeping, no I/O. A message enters the window when it is first published and leaves
it when ingest confirms its (device, seq) or it is no longer in the buffer. While its PUBACK
is outstanding it holds a paho message id (`mid`); only a PUBACKed message is re-sent on a
timeout, so paho never holds two copies of one message, and the window size bounds paho's
16-bit ids. Timeouts back off per message: timeout_s, 2 x, 4 x ... up to timeout_max_s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(slots=True)
class Sent:
    """One message in the window."""

    message_id: int
    device_id: str
    seq: int
    due: float
    attempts: int = 0
    mid: int | None = None


class Window:
    """Messages sent and not yet confirmed, at most `size` of them."""

    def __init__(self, size: int, timeout_s: float, timeout_max_s: float) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self.timeout_max_s = max(timeout_s, timeout_max_s)
        self.cursor = 0
        """Highest buffer message id ever sent by this process: new messages come after it."""
        self._entries: dict[int, Sent] = {}
        self._by_key: dict[tuple[str, int], int] = {}
        self._by_mid: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def room(self) -> int:
        """How many new messages may be sent now."""
        return max(0, self.size - len(self._entries))

    def _timeout(self, attempts: int) -> float:
        return float(min(self.timeout_max_s, self.timeout_s * 2 ** min(attempts, 30)))

    def sent(self, message_id: int, device_id: str, seq: int, mid: int, now: float) -> None:
        """Record a (re-)publish of a message with paho id `mid`."""
        entry = self._entries.get(message_id)
        if entry is None:
            entry = Sent(message_id, device_id, seq, now)
            self._entries[message_id] = entry
            self._by_key[(device_id, seq)] = message_id
            self.cursor = max(self.cursor, message_id)
        else:
            entry.attempts += 1
        if entry.mid is not None:
            self._by_mid.pop(entry.mid, None)
        entry.mid = mid
        entry.due = now + self._timeout(entry.attempts)
        self._by_mid[mid] = message_id

    def pubacked(self, mid: int) -> None:
        """The broker acknowledged the copy with paho id `mid`."""
        message_id = self._by_mid.pop(mid, None)
        entry = self._entries.get(message_id) if message_id is not None else None
        if entry is not None and entry.mid == mid:
            entry.mid = None

    def confirmed(self, ranges: Mapping[str, Sequence[tuple[int, int]]]) -> int:
        """Drop confirmed messages from the window; returns how many were in it."""
        dropped = 0
        for device_id, pairs in ranges.items():
            for first, last in pairs:
                if last - first > len(self._entries):  # a wide range: scan the window instead
                    keys = [k for k in self._by_key if k[0] == device_id and first <= k[1] <= last]
                else:
                    keys = [(device_id, seq) for seq in range(first, last + 1)]
                for key in keys:
                    message_id = self._by_key.get(key)
                    if message_id is not None:
                        self.forget([message_id])
                        dropped += 1
        return dropped

    def forget(self, message_ids: Sequence[int]) -> None:
        """Drop messages (confirmed, or gone from the buffer)."""
        for message_id in message_ids:
            entry = self._entries.pop(message_id, None)
            if entry is not None:
                self._by_key.pop((entry.device_id, entry.seq), None)
                if entry.mid is not None:
                    self._by_mid.pop(entry.mid, None)

    def due(self, now: float) -> list[int]:
        """Ids of PUBACKed messages whose confirmation is overdue, oldest first."""
        entries = self._entries.values()
        return sorted(e.message_id for e in entries if e.mid is None and e.due <= now)

    def reconnected(self, session_present: bool) -> None:
        """A new connection (a fresh paho client): re-send at once every message whose PUBACK
        had not come, and, when the broker lost our session (it may have lost every copy:
        a crash, a deleted persistence file, a failover), every message in the window."""
        for entry in self._entries.values():
            if not session_present or entry.mid is not None:
                entry.due = 0.0
            entry.mid = None
        self._by_mid.clear()

    def restart_timers(self, now: float) -> None:
        """Ingest came back online: give it one timeout, from now, before re-sending (what
        `reconnected` made due at once stays due)."""
        for entry in self._entries.values():
            entry.attempts = 0
            if entry.due > 0.0:
                entry.due = now + self.timeout_s
