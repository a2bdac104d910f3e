"""Counts kept as plain numbers where the work happens, for /metrics to read when it is asked
(forum/web/metrics.py): a histogram here is a list of bucket counts and a sum, so recording
one request or one wait is an index and two additions, with no lock and no label lookup."""
from __future__ import annotations

from bisect import bisect_left

# seconds: a cached page answers in well under a millisecond, an uncached one in a few
LATENCY_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Durations:
    """A histogram: how many observations fell at or below each bound (the last count: above
    all of them), and their sum."""
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BOUNDS):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def add(self, other: "Durations") -> None:
        for index, value in enumerate(other.counts):
            self.counts[index] += value
        self.sum += other.sum

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus' buckets: (upper bound, observations at or below it), ending with +Inf."""
        total, buckets = 0, []
        for bound, value in zip((*self.bounds, float("inf")), self.counts):
            total += value
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
        return buckets
