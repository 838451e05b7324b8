"""Verification analytics (METRICS.md v1): pure functions from DataFrames to metrics."""

from analytics.model import DeviceBookkeeping, Window
from analytics.trial import METHODOLOGY_VERSION, compute_trial_metrics

__all__ = ["METHODOLOGY_VERSION", "DeviceBookkeeping", "Window", "compute_trial_metrics"]
