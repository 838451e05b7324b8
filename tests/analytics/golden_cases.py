"""Load golden case folders (see golden/README.md) into compute_trial_metrics inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analytics import DeviceBookkeeping, Window
from telemetry.trial_spec import TrialSpec, parse_trial_spec

GOLDEN_DIR = Path(__file__).parent / "golden"
DEFAULT_LATENCY_S = 1.0


@dataclass
class GoldenCase:
    name: str
    spec: TrialSpec
    frames: dict[str, pd.DataFrame]
    bookkeeping: dict[str, DeviceBookkeeping]
    window: Window
    expected: dict[str, Any]


def _expand(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if "t_from" in item:
            fields = {k: v for k, v in item.items() if k not in ("t_from", "t_to", "t_step")}
            t = item["t_from"]
            while t <= item["t_to"]:
                out.append({"t": t, **fields})
                t += item["t_step"]
        else:
            out.append(item)
    return out


def readings_frame(items: list[dict[str, Any]], start_ms: int) -> pd.DataFrame:
    """ts_ms / received_ms / fields from case readings given in seconds after the start."""
    rows = []
    for item in _expand(items):
        fields = {k: v for k, v in item.items() if k not in ("t", "lat")}
        ts_ms = start_ms + round(item["t"] * 1000)
        received_ms = ts_ms + round(item.get("lat", DEFAULT_LATENCY_S) * 1000)
        rows.append({"ts_ms": ts_ms, "received_ms": received_ms, **fields})
    frame = pd.DataFrame(rows, columns=None if rows else ["ts_ms", "received_ms"])
    return frame.astype({"ts_ms": "int64", "received_ms": "int64"})


def load_case(folder: Path) -> GoldenCase:
    data = yaml.safe_load((folder / "input.yaml").read_text(encoding="utf-8"))
    spec = parse_trial_spec(data["spec"], str(folder))
    start_ms, end_ms = spec.trial.start_ms, spec.trial.end_ms
    frames = {dev: readings_frame(items or [], start_ms) for dev, items in data["readings"].items()}
    bookkeeping = {
        dev: DeviceBookkeeping(**counts) for dev, counts in (data.get("bookkeeping") or {}).items()
    }
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return GoldenCase(folder.name, spec, frames, bookkeeping, Window(start_ms, end_ms), expected)


def case_folders() -> list[Path]:
    return sorted(p for p in GOLDEN_DIR.iterdir() if (p / "input.yaml").exists())


def assert_matches(actual: Any, expected: Any, path: str = "$") -> None:
    """Every key in `expected` is in `actual` with an equal value (floats to 1e-9)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}: missing key {key!r}"
            assert_matches(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), (
            f"{path}: {len(actual)} items, expected {len(expected)}"
        )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(a, e, f"{path}[{i}]")
    elif expected is None or isinstance(expected, (bool, str)):
        assert actual == expected and type(actual) is type(expected), (
            f"{path}: {actual!r} != {expected!r}"
        )
    else:
        assert actual is not None and not isinstance(actual, bool), f"{path}: got {actual!r}"
        assert abs(actual - expected) <= 1e-9 * max(1.0, abs(expected)), (
            f"{path}: {actual!r} != {expected!r}"
        )
