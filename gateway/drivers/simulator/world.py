"""The shared truth of a simulated site, generated in independent one-hour blocks.

Every block's events come from an RNG keyed by (world, world_seed, family, block), so any
window of time can be generated on its own and two devices of the same world observe the
same truth whatever windows they ask for.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from functools import lru_cache

from gateway.drivers.simulator.config import SimulatorSettings

BLOCK_MS = 3_600_000
LOOKBACK_BLOCKS = 3
"""Events reach at most this many blocks past the block they start in."""

MONITORED_TYPES = ("fault_door", "fault_levelling", "entrapment")
FAULT_SHARES = (0.6, 0.3, 0.1)


def rng_for(*key: object) -> random.Random:
    """A deterministic RNG for a key (stable across processes, unlike hash())."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth; means here are small)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def blocks(start_ms: int, end_ms: int, lookback: int = LOOKBACK_BLOCKS) -> range:
    """Blocks whose events may fall in [start_ms, end_ms)."""
    return range(start_ms // BLOCK_MS - lookback, (end_ms - 1) // BLOCK_MS + 1)


@dataclass(frozen=True, slots=True)
class RainEvent:
    """A shower: intensity rises and falls as a sine over its duration."""

    start_ms: int
    duration_ms: int
    peak_mm_h: float

    def intensity_mm_h(self, t_ms: int) -> float:
        """Rain intensity at t_ms."""
        x = (t_ms - self.start_ms) / self.duration_ms
        return self.peak_mm_h * math.sin(math.pi * x) if 0 <= x < 1 else 0.0


@lru_cache(maxsize=4096)
def rain_events(s: SimulatorSettings, block: int) -> tuple[RainEvent, ...]:
    """Showers and drizzle starting in one block."""
    rng = rng_for(s.world, s.world_seed, "rain", block)
    events = []
    for _ in range(poisson(rng, s.rain_events_per_day / 24)):
        start = block * BLOCK_MS + rng.randrange(BLOCK_MS)
        if rng.random() < s.drizzle_share:
            events.append(RainEvent(start, rng.randrange(60, 180) * 60_000, rng.uniform(0.3, 1.5)))
        else:
            events.append(RainEvent(start, rng.randrange(10, 120) * 60_000, rng.uniform(2, 60)))
    return tuple(events)


def rain_mm(s: SimulatorSettings, minute: int) -> float:
    """True rain (mm) in the minute starting at minute * 60 s."""
    t_ms = minute * 60_000 + 30_000
    total = 0.0
    for block in range(t_ms // BLOCK_MS - LOOKBACK_BLOCKS, t_ms // BLOCK_MS + 1):
        total += sum(event.intensity_mm_h(t_ms) for event in rain_events(s, block))
    return total / 60


@dataclass(frozen=True, slots=True)
class Person:
    """One person screened: arrival time, body temperature and pairing key."""

    ts_ms: int
    body_temp_c: float
    pair_id: str
    clinic_delay_ms: int


@lru_cache(maxsize=4096)
def people(s: SimulatorSettings, block: int) -> tuple[Person, ...]:
    """People screened during one block."""
    rng = rng_for(s.world, s.world_seed, "fever", block)
    arrivals = sorted(rng.randrange(BLOCK_MS) for _ in range(poisson(rng, s.screenings_per_hour)))
    result = []
    for index, offset in enumerate(arrivals):
        fever = rng.random() < s.fever_prevalence
        temp = rng.gauss(38.4, 0.5) if fever else rng.gauss(36.8, 0.3)
        result.append(
            Person(
                ts_ms=block * BLOCK_MS + offset,
                body_temp_c=round(min(42.0, max(35.0, temp)), 2),
                pair_id=f"{s.world}-{block}-{index:04d}",
                clinic_delay_ms=rng.randrange(30_000, 180_000),
            )
        )
    return tuple(result)


@dataclass(frozen=True, slots=True)
class LiftEvent:
    """An event in the lift controller's log."""

    ts_ms: int
    event_type: str


@lru_cache(maxsize=4096)
def lift_events(s: SimulatorSettings, block: int) -> tuple[LiftEvent, ...]:
    """Faults and outages starting in one block (heartbeats are per device)."""
    rng = rng_for(s.world, s.world_seed, "lift", block)
    events = []
    for _ in range(poisson(rng, s.faults_per_day / 24)):
        kind = rng.choices(MONITORED_TYPES, FAULT_SHARES)[0]
        events.append(LiftEvent(block * BLOCK_MS + rng.randrange(BLOCK_MS), kind))
    for _ in range(poisson(rng, s.outages_per_day / 24)):
        start = block * BLOCK_MS + rng.randrange(BLOCK_MS)
        events.append(LiftEvent(start, "out_of_service"))
        events.append(LiftEvent(start + rng.randrange(5, 90) * 60_000, "in_service"))
    return tuple(sorted(events, key=lambda e: e.ts_ms))


@dataclass(frozen=True, slots=True)
class Mission:
    """A UV-C disinfection mission and, per target, its exposure window and irradiance."""

    start_ms: int
    end_ms: int
    exposures: tuple[tuple[str, int, int, float], ...]  # (target, on_ms, off_ms, uw_cm2)

    def dose_mj_cm2(self, target: str) -> float:
        """True dose delivered at a target during this mission."""
        for name, on_ms, off_ms, irradiance in self.exposures:
            if name == target:
                return irradiance * (off_ms - on_ms) / 1_000_000
        return 0.0


@lru_cache(maxsize=4096)
def missions(s: SimulatorSettings, block: int, targets: tuple[str, ...]) -> tuple[Mission, ...]:
    """At most one mission starting in a block; exposures keyed by target name."""
    rng = rng_for(s.world, s.world_seed, "uv", block)
    if rng.random() >= min(1.0, s.missions_per_day / 24):
        return ()
    start = block * BLOCK_MS + rng.randrange(0, 1800) * 1000
    end = start + rng.randrange(15, 30) * 60_000
    exposures = []
    for target in targets:
        t_rng = rng_for(s.world, s.world_seed, "uv", block, target)
        on_ms = start + t_rng.randrange(60, 600) * 1000
        off_ms = min(end - 60_000, on_ms + t_rng.randrange(120, 420) * 1000)
        exposures.append((target, on_ms, off_ms, round(t_rng.uniform(20, 80), 2)))
    return (Mission(start, end, tuple(exposures)),)
