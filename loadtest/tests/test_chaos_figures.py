"""A drill's figures from its events: failures, the window, and when the stack counts as recovered."""

from polls_loadtest.drills.figures import STABLE_SECONDS, compute
from polls_loadtest.load.recorder import Event


def _steady(first: float, last: float, latency_s: float = 0.01, ok: bool = True) -> list[Event]:
    """Ten GETs a second from `first` to `last`, each answered after `latency_s`."""
    events, t = [], first
    while t < last:
        events.append(Event(t, t, t + latency_s, "api: poll list", 200 if ok else 503, ok, "" if ok else "status 503"))
        t = round(t + 0.1, 3)
    return events


def test_recovery_is_the_start_of_a_stable_stretch_not_a_lone_blip_long_after():
    events = (
        _steady(0, 10)
        + _steady(10, 12, ok=False)
        + _steady(12, 14, latency_s=1.5)
        + _steady(14, 25)
        + _steady(25, 25.1, latency_s=0.5)
        + _steady(25.1, 40)
    )
    figures = compute(events, start=10, end=12, run_end=40)
    assert figures.failed_in_window == 20
    assert figures.recovery_s == 2.0, "slow until 14 s, normal for good from then; the blip at 25 s is noise"


def test_no_stable_stretch_means_not_recovered_before_the_run_ended():
    blips = [e for s in range(13, 30, 2) for e in _steady(s, s + 0.1, latency_s=0.5)]
    events = sorted(_steady(0, 10) + _steady(10, 12, ok=False) + blips, key=lambda e: e.due)
    assert STABLE_SECONDS > 2  # a slow second every other second never makes a stable stretch
    assert compute(events, start=10, end=12, run_end=30).recovery_s >= 17.0
