"""Verification analytics (METRICS.md, METRICS-v2.md): pure functions, DataFrames to metrics."""

from analytics.model import DeviceBookkeeping, Window
from analytics.trial import METHODOLOGY_VERSION, compute_trial_metrics

__all__ = ["METHODOLOGY_VERSION", "DeviceBookkeeping", "Window", "compute_trial_metrics"]
