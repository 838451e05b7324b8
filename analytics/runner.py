"""Load what each computation needs from the store (analytics.frames), then compute the
trial's metrics: the one path of `innotrial analyze`, the API, the dashboard and the report."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pandas as pd

from analytics.frames import load_trial_frames
from analytics.model import DeviceBookkeeping, Window
from analytics.trial import compute_trial_metrics
from telemetry.metrics import TrialMetrics
from telemetry.store.base import DeviceStats, TimeSeriesStore
from telemetry.trial_spec import TrialSpec


def trial_window(spec: TrialSpec, now_ms: int | None = None) -> Window:
    """W = [start, min(end, now)); empty (end = start) before the trial begins."""
    body = spec.trial
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return Window(body.start_ms, max(body.start_ms, min(body.end_ms, now)))


def load_frames(spec: TrialSpec, store: TimeSeriesStore, window: Window) -> dict[str, pd.DataFrame]:
    """Each device's readings in W: ts_ms, received_ms and the fields its analysis needs."""
    return load_trial_frames(spec, store, window)


def trial_device_stats(spec: TrialSpec, store: TimeSeriesStore) -> dict[str, DeviceStats]:
    """Each device's duplicates and seq statistics from the store."""
    return {device.id: store.device_stats(device.id) for device in spec.trial.devices}


def trial_bookkeeping(
    stats: Mapping[str, DeviceStats], rejected: Mapping[str, int]
) -> dict[str, DeviceBookkeeping]:
    """Each device's duplicates and missing seqs (`trial_device_stats`), with its dead-letter
    count."""
    return {device_id: DeviceBookkeeping.from_stats(device_stats, rejected.get(device_id, 0))
            for device_id, device_stats in stats.items()}


def analyze_trial(
    spec: TrialSpec,
    store: TimeSeriesStore,
    rejected: Mapping[str, int],
    now_ms: int | None = None,
) -> TrialMetrics:
    """The metrics JSON of a trial whose readings are in `store`."""
    window = trial_window(spec, now_ms)
    bookkeeping = trial_bookkeeping(trial_device_stats(spec, store), rejected)
    return compute_trial_metrics(spec, load_frames(spec, store, window), bookkeeping, window)
