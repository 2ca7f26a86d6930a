"""Counters and histograms, keyed by attribute sets, safe to update from any thread."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Sequence
from typing import Any

import msgspec

from mastra.errors import ValidationError

__all__ = ["Counter", "Histogram", "HistogramPoint", "Meter", "MetricPoint"]

# Seconds, spanning a cache hit to a slow model call.
DEFAULT_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

_AttrKey = tuple[tuple[str, Any], ...]


def _key(attributes: dict[str, Any]) -> _AttrKey:
    return tuple(sorted(attributes.items())) if attributes else ()


class MetricPoint(msgspec.Struct, frozen=True):
    """A counter's total for one attribute set."""

    name: str
    attributes: dict[str, Any]
    value: float


class HistogramPoint(msgspec.Struct, frozen=True):
    """A histogram's distribution for one attribute set. ``bucket_counts[i]`` counts values
    <= ``buckets[i]``; the last entry counts the values above every bound."""

    name: str
    attributes: dict[str, Any]
    count: int
    sum: float
    min: float
    max: float
    buckets: tuple[float, ...]
    bucket_counts: list[int]


class Counter:
    """A monotonic sum: ``counter.add(1, model="gpt-4o")``."""

    def __init__(self, name: str, description: str = "", unit: str = "", *, enabled: bool = True):
        self.name, self.description, self.unit = name, description, unit
        self.enabled = enabled
        self._values: dict[_AttrKey, float] = {}
        self._lock = threading.Lock()

    def add(self, amount: float = 1, **attributes: Any) -> None:
        if not self.enabled:
            return
        if amount < 0:
            raise ValidationError(f"counter {self.name!r} got {amount}; expected an amount >= 0")
        key = _key(attributes)
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, **attributes: Any) -> float:
        """The total for exactly this attribute set (0 when never added)."""
        with self._lock:
            return self._values.get(_key(attributes), 0)

    def collect(self) -> list[MetricPoint]:
        with self._lock:
            items = list(self._values.items())
        return [MetricPoint(self.name, dict(key), value) for key, value in items]


class _Distribution:
    __slots__ = ("count", "counts", "max", "min", "sum")

    def __init__(self, n_buckets: int) -> None:
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        self.counts = [0] * (n_buckets + 1)


class Histogram:
    """A distribution of values (latencies, token counts) over fixed bucket bounds."""

    def __init__(
        self,
        name: str,
        description: str = "",
        unit: str = "s",
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        enabled: bool = True,
    ) -> None:
        bounds = tuple(float(b) for b in buckets)
        if not bounds or any(a >= b for a, b in itertools.pairwise(bounds)):
            raise ValidationError(
                f"histogram {name!r} buckets {list(buckets)} must be non-empty and increasing"
            )
        self.name, self.description, self.unit = name, description, unit
        self.buckets = bounds
        self.enabled = enabled
        self._data: dict[_AttrKey, _Distribution] = {}
        self._lock = threading.Lock()

    def record(self, value: float, **attributes: Any) -> None:
        if not self.enabled:
            return
        if value != value:
            raise ValidationError(f"histogram {self.name!r} got NaN; expected a number")
        key = _key(attributes)
        slot = bisect.bisect_left(self.buckets, value)
        with self._lock:
            dist = self._data.get(key)
            if dist is None:
                dist = self._data[key] = _Distribution(len(self.buckets))
            dist.count += 1
            dist.sum += value
            dist.min = min(dist.min, value)
            dist.max = max(dist.max, value)
            dist.counts[slot] += 1

    def collect(self) -> list[HistogramPoint]:
        with self._lock:
            return [
                HistogramPoint(
                    self.name, dict(key), d.count, d.sum, d.min, d.max, self.buckets, list(d.counts)
                )
                for key, d in self._data.items()
            ]


class Meter:
    """Creates instruments once by name and collects them all."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._lock = threading.Lock()

    def counter(self, name: str, description: str = "", unit: str = "") -> Counter:
        with self._lock:
            if name not in self._counters:
                self._counters[name] = Counter(name, description, unit, enabled=self.enabled)
            return self._counters[name]

    def histogram(
        self,
        name: str,
        description: str = "",
        unit: str = "s",
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        with self._lock:
            if name not in self._histograms:
                self._histograms[name] = Histogram(
                    name, description, unit, buckets=buckets, enabled=self.enabled
                )
            return self._histograms[name]

    def collect(self) -> list[MetricPoint | HistogramPoint]:
        """Every instrument's current points."""
        with self._lock:
            instruments: list[Counter | Histogram] = [
                *self._counters.values(),
                *self._histograms.values(),
            ]
        return [point for inst in instruments for point in inst.collect()]
