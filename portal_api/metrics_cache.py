"""Cache of per-trial metrics JSON, recomputed when new data arrives.

An entry is keyed by a cheap fingerprint of the inputs: the trial's `updated_ms`, and per
device the stored reading count in the window, its last `ts_ms`, duplicates, distinct seqs and
dead-letter count. New readings or dead letters change the fingerprint and force a recompute.
The fingerprint itself costs a few store queries, so it is re-checked at most once per
`check_interval_s` per trial (answers are then at most that stale). While `now` is inside the
trial window the metrics also depend on the clock (readings expected so far), so such entries
also expire after `ttl_s`. One lock per trial makes concurrent requests for the same trial wait
for one computation instead of all computing it.

The cache is generic in what it holds: the API's metrics JSON (`TrialMetrics`) and the
report-status JSON computed from it (portal_api/report_status.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Value = TypeVar("Value")


@dataclass(slots=True)
class _Entry(Generic[Value]):
    fingerprint: Hashable
    computed_ms: int
    checked_ms: int
    expires: bool
    value: Value


class MetricsCache(Generic[Value]):
    """Thread-safe cache of computed metrics per trial."""

    def __init__(self, ttl_s: float, check_interval_s: float = 1.0) -> None:
        self.ttl_ms = int(ttl_s * 1000)
        self.check_interval_ms = int(check_interval_s * 1000)
        self._entries: dict[str, _Entry[Value]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.computations = 0

    def _lock(self, trial_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(trial_id, threading.Lock())

    def _recent(self, entry: _Entry[Value] | None, now_ms: int) -> bool:
        """Checked so recently that the store is not asked again."""
        if entry is None or now_ms - entry.checked_ms >= self.check_interval_ms:
            return False
        return not entry.expires or now_ms - entry.computed_ms < self.ttl_ms

    def _fresh(self, entry: _Entry[Value] | None, fingerprint: Hashable, now_ms: int) -> bool:
        if entry is None or entry.fingerprint != fingerprint:
            return False
        return not entry.expires or now_ms - entry.computed_ms < self.ttl_ms

    def get(
        self,
        trial_id: str,
        now_ms: int,
        expires: bool,
        fingerprint: Callable[[], Hashable],
        compute: Callable[[], Value],
    ) -> Value:
        """The cached metrics if still fresh, else `compute()` (stored for the next caller)."""
        entry = self._entries.get(trial_id)
        if entry is not None and self._recent(entry, now_ms):
            return entry.value
        with self._lock(trial_id):
            entry = self._entries.get(trial_id)
            if entry is not None and self._recent(entry, now_ms):
                return entry.value
            current = fingerprint()
            if entry is not None and self._fresh(entry, current, now_ms):
                entry.checked_ms = now_ms
                return entry.value
            value = compute()
            self.computations += 1
            self._entries[trial_id] = _Entry(current, now_ms, now_ms, expires, value)
            return value
