"""Load what each computation needs from the store, then compute the trial's metrics."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from analytics.model import DeviceBookkeeping, Window
from analytics.trial import PROFILE_COLUMNS, compute_trial_metrics
from telemetry.store.base import TimeSeriesStore
from telemetry.trial_spec import TrialSpec


def trial_window(spec: TrialSpec, now_ms: int | None = None) -> Window:
    """W = [start, min(end, now)); empty (end = start) before the trial begins."""
    body = spec.trial
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return Window(body.start_ms, max(body.start_ms, min(body.end_ms, now)))


def compared_devices(spec: TrialSpec) -> set[str]:
    """Ids of devices that take part in at least one comparison."""
    ids: set[str] = set()
    for comparison in spec.trial.comparisons:
        ids.add(comparison.under_test)
        ids.update(comparison.references)
    return ids


def load_frames(spec: TrialSpec, store: TimeSeriesStore, window: Window) -> dict[str, pd.DataFrame]:
    """Each device's readings in W: ts_ms, received_ms and the fields its analysis needs."""
    compared = compared_devices(spec)
    frames: dict[str, pd.DataFrame] = {}
    for device in spec.trial.devices:
        columns = PROFILE_COLUMNS.get(device.profile, ()) if device.id in compared else ()
        frames[device.id] = store.read(
            device.id, window.start_ms, window.end_ms, columns=list(columns), with_received=True
        )
    return frames


def analyze_trial(
    spec: TrialSpec,
    store: TimeSeriesStore,
    rejected: Mapping[str, int],
    now_ms: int | None = None,
) -> dict[str, Any]:
    """The metrics JSON of a trial whose readings are in `store`."""
    window = trial_window(spec, now_ms)
    frames = load_frames(spec, store, window)
    bookkeeping = {
        device.id: DeviceBookkeeping.from_stats(
            store.device_stats(device.id), rejected.get(device.id, 0)
        )
        for device in spec.trial.devices
    }
    return compute_trial_metrics(spec, frames, bookkeeping, window)
