"""Two threads between the MQTT network thread and the store, in FIFO order:

- the collector takes messages off the inbox queue, validates them and builds a batch; while
  the committer is busy it keeps growing the batch (up to its limits), so batches get larger
  exactly when the store is the bottleneck;
- the committer writes a batch durably (store, then registry), then acknowledges its
  messages, then hands the totals on.

Validation of batch n+1 thus overlaps the store write of batch n (SQLite and HTTP release
the GIL while they work). Batches are committed and acknowledged in arrival order.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from ingest.errors import Aborted
from ingest.logfmt import kv
from ingest.processing import InboundMessage, MessageProcessor, Processed
from ingest.writer import BatchCommitter, CommitSummary

log = logging.getLogger("innotrial.ingest")
POLL_S = 0.2
_BUSY_POLL_S = 0.005

AckFn = Callable[[list[Processed]], None]
CommitHook = Callable[[list[Processed], CommitSummary], None]
RefreshFn = Callable[[MessageProcessor], None]


class IngestPipeline:
    """Collector and committer threads over one inbox; `failure` holds a crash's exception."""

    def __init__(self, inbox: queue.Queue[InboundMessage], processor: MessageProcessor,
                 committer: BatchCommitter, ack: AckFn, *, batch_max_readings: int,
                 batch_max_messages: int, batch_max_delay_ms: int, refresh_s: float,
                 refresh: RefreshFn, stopping: threading.Event, abort: threading.Event,
                 on_commit: CommitHook | None = None) -> None:
        self.inbox = inbox
        self.processor = processor
        self.committer = committer
        self.ack = ack
        self.batch_max_readings = batch_max_readings
        self.batch_max_messages = batch_max_messages
        self.batch_max_delay_s = batch_max_delay_ms / 1000
        self.refresh_s = refresh_s
        self.refresh = refresh
        self.stopping = stopping
        self.abort = abort
        self.on_commit = on_commit
        self.failure: BaseException | None = None
        self.totals = CommitSummary(0, 0, 0, 0)
        self._handoff: queue.Queue[list[Processed] | None] = queue.Queue(maxsize=1)
        self._idle = threading.Event()
        self._idle.set()
        self._threads = [threading.Thread(target=self._run_collector, name="ingest-collector",
                                          daemon=True),
                         threading.Thread(target=self._run_committer, name="ingest-committer",
                                          daemon=True)]

    def start(self) -> None:
        """Start both threads."""
        for thread in self._threads:
            thread.start()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for both threads to end; True when they have."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    # -- collector -------------------------------------------------------------------------
    def _run_collector(self) -> None:
        next_refresh = time.monotonic() + self.refresh_s
        try:
            while self.failure is None and not self.abort.is_set():
                batch = self._collect()
                if batch:
                    self._hand_over(batch)
                elif self.stopping.is_set():
                    break
                if time.monotonic() >= next_refresh:
                    self.refresh(self.processor)
                    next_refresh = time.monotonic() + self.refresh_s
        except Exception as exc:  # supervisor: log, flag, let the owner exit non-zero
            log.exception(kv("collector_crashed", error=repr(exc)))
            self.failure = exc
        finally:
            self._hand_over(None)

    def _hand_over(self, batch: list[Processed] | None) -> None:
        while not self.abort.is_set() and self._threads[1].is_alive():
            try:
                self._handoff.put(batch, timeout=POLL_S)
            except queue.Full:
                continue
            if batch is not None:
                self._idle.clear()
            return

    def _collect(self) -> list[Processed]:
        try:
            first = self.inbox.get(timeout=POLL_S)
        except queue.Empty:
            return []
        process = self.processor.process
        batch = [process(first)]
        count = batch[0].reading_count + 1
        deadline = time.monotonic() + self.batch_max_delay_s
        get, idle = self.inbox.get_nowait, self._idle
        while count < self.batch_max_readings and len(batch) < self.batch_max_messages:
            # Cut the batch when it is due and the committer can take it; grow it meanwhile.
            due = time.monotonic() >= deadline
            if due and idle.is_set():
                break
            try:
                item = get()
            except queue.Empty:
                if self.stopping.is_set():
                    break
                wait_s = _BUSY_POLL_S if due else max(deadline - time.monotonic(), 0.0001)
                try:
                    item = self.inbox.get(timeout=wait_s)
                except queue.Empty:
                    continue
            processed = process(item)
            batch.append(processed)
            count += processed.reading_count + 1
        return batch

    # -- committer -------------------------------------------------------------------------
    def _run_committer(self) -> None:
        try:
            while True:
                batch = self._handoff.get()
                if batch is None:
                    return
                summary = self.committer.commit(batch)
                self.ack(batch)
                t = self.totals
                self.totals = CommitSummary(
                    t.messages + summary.messages, t.stored + summary.stored,
                    t.duplicates + summary.duplicates, t.rejected + summary.rejected)
                self._idle.set()
                if self.on_commit is not None:
                    self.on_commit(batch, summary)
        except Aborted:
            log.warning(kv("commit_aborted", note="batch not acknowledged; broker redelivers"))
        except Exception as exc:  # supervisor: log, flag, let the owner exit non-zero
            log.exception(kv("committer_crashed", error=repr(exc)))
            self.failure = exc
