"""From a load run's per-request events to a drill's figures: failures, windows, recovery, p99s."""

import math
from dataclasses import asdict, dataclass, field

from polls_loadtest.load.recorder import Recorder, percentile

# The load's writes; every other request is a GET that the gateway may retry on another replica.
WRITES = frozenset({"web: vote", "api: vote", "api: export start", "web: login", "api: token"})
WARM_UP_SECONDS = 2.0  # the first requests open connections: not part of the baseline
# Recovered means normal and staying so: this many one-second slices in a row with no failure and
# a normal p99. A lone slow second long after the fault (a pause of the host, a GC) is noise,
# not the fault's tail: at 40 requests/s a second's p99 is its slowest request.
STABLE_SECONDS = 5


@dataclass(frozen=True)
class Event:
    """One request of the load: times in seconds since the schedule started."""

    due: float
    sent: float | None
    done: float
    request: str
    status: int | None
    ok: bool
    reason: str

    @property
    def latency_ms(self) -> float:
        return 1000 * (self.done - self.due)

    @property
    def is_write(self) -> bool:
        return self.request in WRITES


class EventRecorder(Recorder):
    """The open-loop client's recorder, also keeping every request as an Event for the verdicts."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.events: list[Event] = []

    def done(self, *, scenario, request, due, sent, done, ok, status=None, reason="") -> None:
        super().done(
            scenario=scenario, request=request, due=due, sent=sent, done=done, ok=ok, status=status, reason=reason
        )
        self.events.append(Event(due, sent, done, request, status, ok, reason))


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

    def as_dict(self) -> dict:
        return asdict(self)


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
    statuses: dict[str, int] = {}
    for e in during:
        key = str(e.status) if e.status is not None else (e.reason.split(":")[0] or "none")
        statuses[key] = statuses.get(key, 0) + 1
    return Figures(
        sent=len(sent),
        failed=len(failed),
        failed_in_window=sum(1 for e in during if not e.ok),
        failed_gets=sum(1 for e in failed if not e.is_write),
        failed_writes=sum(1 for e in failed if e.is_write),
        recovery_s=recovery,
        p99_before_ms=baseline,
        p99_during_ms=_p99(during),
        p99_after_ms=_p99(after),
        max_during_ms=round(max((e.latency_ms for e in during), default=0.0), 1) or None,
        window=(round(start, 2), round(end, 2)),
        statuses_in_window=dict(sorted(statuses.items())),
    )
