"""Run drills one after another under open-loop load, restoring the stack after each."""

import time
import traceback
from dataclasses import asdict, dataclass, field

from polls_loadtest.drills.drills import Check, Context, Drill
from polls_loadtest.drills.figures import Figures, compute
from polls_loadtest.drills.site import Site
from polls_loadtest.load.openloop import LoadSettings, OpenLoopRun
from polls_loadtest.load.recorder import Recorder

# About half of what this stack answered on the 2-core machine (loadtest/README.md: ~100 mixed
# requests/s), so a drill measures the fault rather than saturation.
DEFAULT_RATE = 40.0
DEFAULT_USERS = 16
SIGN_IN_LIMIT_S = 120
EXTRA_TIME_S = 120  # what an inject function may take beyond the load (waiting for exports...)


@dataclass
class DrillResult:
    name: str
    title: str
    criterion: str
    passed: bool
    checks: list[Check]
    figures: Figures
    seconds: float
    error: str = ""
    results: dict = field(default_factory=dict, repr=False)  # the load run's results (timeline...)

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("results")
        data["errors"] = self.results.get("errors", [])  # which requests failed, and why
        data["status_codes"] = self.results.get("status_codes", {})
        return data


def run_drill(drill: Drill, site: Site, *, rate: float = DEFAULT_RATE, users: int = DEFAULT_USERS) -> DrillResult:
    """Run one drill; the stack is restored afterwards whatever happened."""
    began = time.monotonic()
    print(f"== {drill.name}: {drill.title}")
    site.stack.restore()
    recorder = Recorder(keep_events=True)
    # The load's own mix (browse:6, api:3, export:1: pages, the API and exports all see the fault) and
    # request timeout (10 s); a shorter drain than its default (timeout + 5 s).
    settings = LoadSettings(target=site.stack.target, rate=rate, duration=drill.duration, users=users, drain=15.0)
    run = OpenLoopRun(settings, recorder=recorder)
    ctx = Context(site=site, run=run, deadline=time.monotonic() + SIGN_IN_LIMIT_S + drill.duration + EXTRA_TIME_S)
    error, results = "", {}
    run.start()
    try:
        if not run.wait_started(SIGN_IN_LIMIT_S):
            raise RuntimeError("the load did not start (sign-in failed or took too long)")
        drill.inject(ctx)
    except Exception:  # noqa: BLE001 - the drill fails, the run goes on to the next one
        error = traceback.format_exc(limit=6)
        print(error)
    finally:
        try:
            results = run.wait()
        except Exception:  # noqa: BLE001
            error = error or traceback.format_exc(limit=4)
        try:
            site.stack.restore()
        except Exception:  # noqa: BLE001
            error = error or traceback.format_exc(limit=4)
    events = recorder.events
    run_end = max((e.due for e in events), default=drill.duration)
    start = ctx.fault_start if ctx.fault_start is not None else drill.duration / 2
    end = ctx.fault_end if ctx.fault_end is not None else start
    figures = compute(events, start=start, end=end, run_end=run_end)
    checks = []
    if not error:
        try:
            checks = drill.judge(ctx, figures, events)
        except Exception:  # noqa: BLE001
            error = traceback.format_exc(limit=4)
    passed = not error and bool(checks) and all(c.passed for c in checks)
    seconds = round(time.monotonic() - began, 1)
    result = DrillResult(drill.name, drill.title, drill.criterion, passed, checks, figures, seconds, error, results)
    print(
        f"   {'PASS' if passed else 'FAIL'} in {result.seconds:.0f} s: "
        + "; ".join(f"{'ok' if c.passed else 'NOT OK'} {c.name} ({c.detail})" for c in checks)
    )
    return result
