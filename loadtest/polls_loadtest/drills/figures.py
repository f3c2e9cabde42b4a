"""From a load run's per-request events to a drill's figures: failures, windows, recovery, p99s."""

import math
from collections import Counter
from dataclasses import dataclass, field

from polls_loadtest.load.recorder import Event, percentile

# The load's writes; every other request is a GET that the gateway may retry on another replica.
WRITES = frozenset({"web: vote", "api: vote", "api: export start"})
WARM_UP_SECONDS = 2.0  # the first requests open connections: not part of the baseline
# Recovered means normal and staying so: this many one-second slices in a row with no failure and
# a normal p99. A lone slow second long after the fault (a pause of the host, a GC) is noise,
# not the fault's tail: at 40 requests/s a second's p99 is its slowest request.
STABLE_SECONDS = 5


def is_write(event: Event) -> bool:
    return event.request in WRITES


def slowest_service_s(events: list[Event]) -> float:
    """Return the longest time from sending a request to its answer, in seconds (0 if none was sent)."""
    return max((e.done - e.sent for e in events if e.sent is not None), default=0.0)


@dataclass
class Figures:
    """What the verdict table shows for one drill."""

    sent: int = 0
    failed: int = 0
    failed_in_window: int = 0
    failed_gets: int = 0
    failed_writes: int = 0
    recovery_s: float | None = None  # from the end of the fault until answers are normal again
    p99_before_ms: float | None = None
    p99_during_ms: float | None = None
    p99_after_ms: float | None = None
    max_during_ms: float | None = None
    window: tuple[float, float] = (0.0, 0.0)
    statuses_in_window: dict[str, int] = field(default_factory=dict)


def _p99(events: list[Event]) -> float | None:
    values = sorted(e.latency_ms for e in events)
    return None if not values else round(percentile(values, 99), 1)


def normal_latency_ms(baseline_p99: float | None) -> float:
    """Return the p99 a second may have and still count as recovered: 2x the baseline, at least +100 ms."""
    base = baseline_p99 or 100.0
    return max(2 * base, base + 100)


def compute(events: list[Event], *, start: float, end: float, run_end: float) -> Figures:
    """Figures for a fault from `start` to `end` (seconds since the schedule started)."""
    sent = [e for e in events if e.sent is not None or not e.ok]
    failed = [e for e in events if not e.ok]
    before = [e for e in events if WARM_UP_SECONDS <= e.due < start]
    during = [e for e in events if start <= e.due < end]
    baseline = _p99(before)
    limit = normal_latency_ms(baseline)
    # Recovery: from the end of the fault to the first of STABLE_SECONDS normal one-second slices
    # in a row (fewer at the very end of the run); 0 when answers were normal from the start.
    seconds = math.ceil(max(0.0, run_end - end))
    normal = []
    for i in range(seconds):
        chunk = [e for e in events if end + i <= e.due < end + i + 1]
        normal.append(not chunk or (all(e.ok for e in chunk) and (_p99(chunk) or 0) <= limit))
    recovery = float(next((i for i in range(seconds) if all(normal[i : i + STABLE_SECONDS])), seconds))
    after = [e for e in events if end + recovery <= e.due]
    return Figures(
        sent=len(sent),
        failed=len(failed),
        failed_in_window=sum(1 for e in during if not e.ok),
        failed_gets=sum(1 for e in failed if not is_write(e)),
        failed_writes=sum(1 for e in failed if is_write(e)),
        recovery_s=recovery,
        p99_before_ms=baseline,
        p99_during_ms=_p99(during),
        p99_after_ms=_p99(after),
        max_during_ms=round(max((e.latency_ms for e in during), default=0.0), 1) or None,
        window=(round(start, 2), round(end, 2)),
        statuses_in_window=dict(sorted(Counter(e.outcome for e in during).items())),
    )
