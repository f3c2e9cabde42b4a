"""Where the open-loop client keeps its figures: a timeline of 100 ms buckets and HDR histograms.

Each request is filed under the bucket of its *scheduled* send time, so a chart shows what users
who arrived at a moment experienced, and a fault marker (`mark`) lines up with the requests it
hurt, even those answered seconds later. Only `completed` is counted by completion time (the
throughput the site delivered). Latencies are kept whole per bucket (a few per 100 ms at the rates
one client drives) for exact windowed percentiles, and in HdrHistograms (microseconds, 3
significant digits) for the totals, which later tools can merge from the encoded form.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 120_000_000  # two minutes: longer than any request timeout
SIGNIFICANT_DIGITS = 3
PERCENTILES = (50, 90, 95, 99, 99.9)
COUNTS = ("scheduled", "sent", "ok", "failed", "completed", "succeeded")  # the Bucket's counters
TIMELINE_PERCENTILES = {"p50_ms": 50, "p95_ms": 95, "p99_ms": 99, "max_ms": 100}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def histogram_summary(histogram: HdrHistogram) -> dict[str, float | int]:
    """Return count, mean, max and the usual percentiles of a microsecond histogram, in ms."""
    count = histogram.get_total_count()
    summary: dict[str, float | int] = {"count": count}
    if not count:
        return summary
    for p in PERCENTILES:
        summary[f"p{p:g}".replace(".", "_")] = round(histogram.get_value_at_percentile(p) / 1000, 3)
    summary["mean"] = round(histogram.get_mean_value() / 1000, 3)
    summary["max"] = round(histogram.get_max_value() / 1000, 3)
    return summary


def describe(latency_ms: dict) -> str:
    """Return "p50 ... ms, p95 ..., p99 ..., max ..." of a histogram_summary (0 where nothing was answered)."""
    return ", ".join(f"{p} {latency_ms.get(p, 0):.1f} ms" for p in ("p50", "p95", "p99", "max"))


def _microseconds(seconds: float) -> int:
    return min(HIGHEST_US, max(LOWEST_US, round(seconds * 1e6)))


def percentile(sorted_values: list[float], p: float) -> float:
    """Return the nearest-rank percentile of an already sorted list (empty: nan)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Event:
    """One request's outcome; times in seconds since the schedule started, `sent` None if it never left."""

    due: float
    sent: float | None
    done: float
    request: str
    status: int | None
    ok: bool
    reason: str
    scenario: str = ""

    @property
    def latency_ms(self) -> float:
        return 1000 * (self.done - self.due)

    @property
    def outcome(self) -> str:
        """Return the status, or where none came the kind of failure ("connection", "journey", "timeout after 10 s")."""
        return str(self.status) if self.status is not None else (self.reason.split(":")[0] or "none")


@dataclass
class Bucket:
    scheduled: int = 0  # slots due in this bucket
    sent: int = 0  # requests that left the client in this bucket
    ok: int = 0  # of the requests scheduled here: answered as expected
    failed: int = 0  # ... or not (status, timeout, connection error, journey error, never sent)
    completed: int = 0  # requests that finished in this bucket (by completion time)
    succeeded: int = 0  # ... and were answered as expected (the goodput)
    latencies_ms: list[float] = field(default_factory=list)  # of the requests scheduled here


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    histogram: HdrHistogram = field(default_factory=new_histogram)

    def summary(self) -> dict:
        return {"ok": self.ok, "failed": self.failed, "latency_ms": histogram_summary(self.histogram)}


class Recorder:
    """Collect every request's outcome; times are seconds since the start of the schedule."""

    bucket_seconds = 0.1  # the timeline's resolution

    def __init__(self, *, keep_events: bool = False) -> None:
        self.events: list[Event] | None = [] if keep_events else None  # every request, for the drills' verdicts
        self.buckets: list[Bucket] = []
        self.latency = new_histogram()  # from the scheduled send time: what users saw
        self.service_time = new_histogram()  # from the actual send time: what closed-loop tools report
        self.by_request: dict[str, Tally] = {}
        self.by_scenario: dict[str, Tally] = {}
        self.status_codes: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.totals = Counter()
        self.window_ms: list[float] = []  # latencies completed since the last take_window()

    def bucket(self, at: float) -> Bucket:
        index = max(0, int(at / self.bucket_seconds))
        while len(self.buckets) <= index:
            self.buckets.append(Bucket())
        return self.buckets[index]

    def count(self, name: str, at: float) -> None:
        """Count a slot as `name` ("scheduled", "sent", "ok" or "failed") in the bucket of `at` and the totals."""
        bucket = self.bucket(at)
        setattr(bucket, name, getattr(bucket, name) + 1)
        self.totals[name] += 1

    def done(self, event: Event) -> None:
        """Record one request."""
        latency_us = _microseconds(event.done - event.due)
        finished = self.bucket(event.done)
        finished.completed += 1
        finished.succeeded += event.ok
        for tallies, key in ((self.by_request, event.request), (self.by_scenario, event.scenario)):
            tally = tallies.get(key) or tallies.setdefault(key, Tally())
            tally.histogram.record_value(latency_us)
            tally.ok += event.ok
            tally.failed += not event.ok
        self.latency.record_value(latency_us)
        if event.sent is not None:
            self.service_time.record_value(_microseconds(event.done - event.sent))
        if event.status is not None:
            self.status_codes[str(event.status)] += 1
        self.count("ok" if event.ok else "failed", event.due)
        if not event.ok:
            self.errors[(event.request, event.reason or f"status {event.status}")] += 1
        self.bucket(event.due).latencies_ms.append(latency_us / 1000)
        self.window_ms.append(latency_us / 1000)
        if self.events is not None:
            self.events.append(event)

    def take_window(self) -> list[float]:
        """Return the latencies completed since the last call, sorted, and start a new window."""
        window, self.window_ms = sorted(self.window_ms), []
        return window

    def timeline(self, *, every: int = 1) -> dict[str, list]:
        """Return the buckets as columns; every=10 merges ten 100 ms buckets into one second."""
        columns: dict[str, list] = {k: [] for k in ("t", *COUNTS, *TIMELINE_PERCENTILES)}
        for start in range(0, len(self.buckets), every):
            group = self.buckets[start : start + every]
            latencies = sorted(v for b in group for v in b.latencies_ms)
            columns["t"].append(round(start * self.bucket_seconds, 3))
            for name in COUNTS:
                columns[name].append(sum(getattr(b, name) for b in group))
            for name, p in TIMELINE_PERCENTILES.items():
                value = percentile(latencies, p)
                columns[name].append(None if math.isnan(value) else round(value, 3))
        return columns
