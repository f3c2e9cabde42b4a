"""The failure drills: what each one does to the stack under load, and the criterion it must meet.

Each drill is an `inject` function, run while the open-loop load runs in the background, and a
`judge` function that turns the figures into checks. Drills touch containers only through the fault
methods of the stack driver (polls_loadtest.stack), so a driver with the same methods for
Kubernetes would run them there.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from polls_loadtest.drills.figures import Figures, is_write, slowest_service_s
from polls_loadtest.drills.site import OPEN_POLLS, PROBE_ACCOUNT, Site
from polls_loadtest.load.openloop import OpenLoopRun
from polls_loadtest.load.recorder import Event
from polls_loadtest.stack import Stack

# How soon after a fault p99 and failures must be back to normal (docs/resilience.md).
RECOVERY_LIMIT_S = 10.0
GATEWAY_READ_TIMEOUT_S = 30.0  # proxy_read_timeout in gateway.conf.template


@dataclass
class Check:
    """One part of a drill's criterion and whether it held."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class Context:
    """What an inject function may use: the stack and its site, the running load, and the fault markers."""

    site: Site
    run: OpenLoopRun
    deadline: float  # monotonic time at which the drill must give up waiting
    facts: dict = field(default_factory=dict)
    fault_start: float | None = None
    fault_end: float | None = None

    @property
    def stack(self) -> Stack:
        return self.site.stack

    def at(self, seconds: float) -> None:
        """Sleep until the load has run for `seconds` (bounded by the drill's deadline)."""
        while self.run.elapsed < seconds and time.monotonic() < self.deadline:
            time.sleep(0.05)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, self.deadline - time.monotonic())))

    def mark(self, label: str) -> float:
        self.run.mark(label)
        return self.run.elapsed

    def fault_begins(self, label: str, *, at: float | None = None) -> None:
        """Mark the fault's start, once the load has run for `at` seconds if given."""
        if at is not None:
            self.at(at)
        self.fault_start = self.mark(label)

    def fault_ends(self, label: str) -> None:
        self.fault_end = self.mark(label)

    def background(self, target: Callable, *args) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        return thread

    def exports_from_now(self) -> None:
        """Remember the last export, so that settle_exports() waits for every one requested after it."""
        self.facts["first_id"] = self.site.last_export_id()

    def settle_exports(self, *, within: float = float("inf")) -> None:
        """Wait (bounded by the deadline) until the exports requested since exports_from_now() are done or
        failed; keep their states in facts["exports"]."""
        ids = self.site.export_ids_after(self.facts["first_id"])
        timeout = max(5.0, min(within, self.deadline - time.monotonic() - 5))
        self.facts["exports"] = self.site.wait_exports(ids, timeout=timeout)
        self.mark("exports settled")


Judge = Callable[[Context, Figures, list[Event]], list[Check]]


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    criterion: str
    duration: float  # seconds of load
    inject: Callable[[Context], None]
    judge: Judge


DRILLS: dict[str, Drill] = {}


def zero_failed(figures: Figures) -> Check:
    return Check("zero failed requests", figures.failed == 0, f"{figures.failed} failed of {figures.sent}")


def _judge_zero_failed(ctx, figures, events) -> list[Check]:
    return [zero_failed(figures)]


def drill(name: str, title: str, criterion: str, *, duration: float, judge: Judge = _judge_zero_failed):
    """Register the decorated inject function as a drill, judged by `judge` (by default: zero failed requests)."""

    def register(inject: Callable[[Context], None]) -> Callable[[Context], None]:
        DRILLS[name] = Drill(name, title, criterion, duration, inject, judge)
        return inject

    return register


def _recovered(figures: Figures) -> Check:
    ok = figures.recovery_s is not None and figures.recovery_s <= RECOVERY_LIMIT_S
    return Check(f"recovered within {RECOVERY_LIMIT_S:g} s", ok, f"recovery {figures.recovery_s} s")


def _no_crash_loops(ctx: Context) -> Check:
    before, after = ctx.facts.get("restarts_before", {}), ctx.stack.restart_counts()
    restarted = {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)}
    detail = ", ".join(f"{k} +{v}" for k, v in restarted.items()) or "none"
    return Check("no restarts by the restart policy (no crash loop)", not restarted, detail)


def _in_window(figures: Figures, events: list[Event]) -> list[Event]:
    start, end = figures.window
    return [e for e in events if start <= e.due < end]


def _reasons(events: list[Event]) -> list[str]:
    return sorted({e.reason for e in events})[:4]


def _outage(ctx: Context, service: str, *, at: float, seconds: float) -> None:
    """Stop every replica of a service `at` seconds into the load, for `seconds`."""
    ctx.fault_begins(f"{service} stopped", at=at)
    ctx.stack.stop_service(service)
    ctx.sleep(seconds)
    ctx.stack.start_service(service)
    ctx.fault_ends(f"{service} back")


@drill("graceful-stop", "Graceful stop (SIGTERM) of one web and one api replica", "zero failed requests", duration=35)
def graceful_stop(ctx: Context) -> None:
    web, api = ctx.stack.replicas("web")[0], ctx.stack.replicas("api")[0]
    ctx.fault_begins(f"SIGTERM {web}, {api}", at=8)
    for thread in [ctx.background(ctx.stack.stop, replica) for replica in (web, api)]:
        thread.join(60)
    ctx.mark("both stopped")
    ctx.stack.start(web)
    ctx.stack.start(api)
    ctx.stack.wait_healthy(timeout=60)
    ctx.fault_ends("both replicas back")


PROBE_SECONDS = 5
# The probe's vote: sent by curl in the gateway container straight to one api replica.
CURL_POST = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "40", "-X", "POST"]


def _judge_rolling_restart(ctx, figures, events) -> list[Check]:
    probe = ctx.facts.get("probe", {})
    ok = probe.get("status") in ("201", "409") and probe.get("seconds", 0) >= PROBE_SECONDS - 1.5
    detail = f"vote on {ctx.facts.get('probe_replica')}: status {probe.get('status')} after {probe.get('seconds')} s"
    return [zero_failed(figures), Check("the 5 s request in flight at SIGTERM completed", ok, detail)]


@drill(
    "rolling-restart",
    "Rolling restart of api (maxSurge 1, maxUnavailable 0)",
    "zero failed requests; a 5 s request in flight when its replica is told to stop completes",
    duration=75,
    judge=_judge_rolling_restart,
)
def rolling_restart(ctx: Context) -> None:
    # The in-flight request: a vote whose choice row is locked for 5 s by another transaction, so
    # it is held inside the replica (not in the gateway's buffers) when the replica gets SIGTERM.
    row = ctx.stack.sql(
        f"SELECT c.poll_id, c.id FROM domain_choice c JOIN domain_poll p ON p.id = c.poll_id WHERE {OPEN_POLLS} "
        "AND NOT EXISTS (SELECT 1 FROM domain_vote v JOIN auth_user u ON u.id = v.user_id "
        f"WHERE v.poll_id = p.id AND u.username = 'demo{PROBE_ACCOUNT:05d}') ORDER BY c.id DESC LIMIT 1"
    )
    poll_id, choice_id = map(int, row[0])
    token = ctx.site.token()

    def lock() -> None:
        lock_row = f"SELECT id FROM domain_choice WHERE id = {choice_id} FOR UPDATE"
        ctx.stack.sql(f"BEGIN; {lock_row}; SELECT pg_sleep({PROBE_SECONDS}); COMMIT;", timeout=PROBE_SECONDS + 20)

    def probe(address: str) -> None:
        started = time.monotonic()
        headers = ["Host: 127.0.0.1", "Content-Type: application/json", f"Authorization: Token {token}"]
        vote = [*(arg for header in headers for arg in ("-H", header)), "-d", f'{{"choice_id": {choice_id}}}']
        try:
            url = f"http://{address}:8001/api/polls/{poll_id}/vote/"
            out = ctx.stack.exec("gateway", *CURL_POST, *vote, url, timeout=60)
        except Exception as error:  # noqa: BLE001 - recorded as the probe's outcome
            out = f"error: {error}"
        ctx.facts["probe"] = {"status": out.strip(), "seconds": round(time.monotonic() - started, 2)}

    def before_stop(replica: str) -> None:
        if "probe" in ctx.facts or "probe_thread" in ctx.facts:
            ctx.mark(f"SIGTERM {replica}")
            return
        address = ctx.stack.address(replica)
        ctx.facts["lock_thread"] = ctx.background(lock)
        time.sleep(0.5)
        ctx.facts["probe_thread"] = ctx.background(probe, address)
        time.sleep(1.0)  # the vote now waits on the row lock inside the replica
        ctx.facts["probe_replica"] = replica
        ctx.mark(f"SIGTERM {replica} (5 s request in flight)")

    ctx.fault_begins("rolling restart of api", at=8)
    ctx.stack.rolling_restart("api", before_stop=before_stop)
    ctx.fault_ends("rollout done")
    for key in ("probe_thread", "lock_thread"):
        if key in ctx.facts:
            ctx.facts.pop(key).join(60)


def _judge_kill_api(ctx, figures, events) -> list[Check]:
    t = ctx.fault_start
    in_flight = sum(1 for e in events if is_write(e) and e.sent is not None and e.sent <= t < e.done)
    return [
        Check("zero failed GETs", figures.failed_gets == 0, f"{figures.failed_gets} failed GETs"),
        Check(
            "failed writes <= writes in flight at the kill",
            figures.failed_writes <= in_flight,
            f"{figures.failed_writes} failed writes, {in_flight} writes in flight (all replicas)",
        ),
        _recovered(figures),
    ]


@drill(
    "kill-api",
    "SIGKILL of one api replica",
    "zero failed GETs; failed writes <= writes in flight; p99 at baseline within 10 s",
    duration=35,
    judge=_judge_kill_api,
)
def kill_api(ctx: Context) -> None:
    replica = ctx.stack.replicas("api")[0]
    ctx.fault_begins(f"SIGKILL {replica}", at=8)
    ctx.stack.kill(replica)
    ctx.fault_ends("(killed)")
    ctx.sleep(5)
    # What a Deployment does next: a replacement starts.
    ctx.stack.start(replica)
    ctx.stack.wait_healthy(timeout=60)
    ctx.mark("replacement ready")


EXPORT_BURST = 60
# CELERY_WORKER_CONCURRENCY x CELERY_WORKER_PREFETCH_MULTIPLIER: messages one worker holds unacked.
WORKER_IN_FLIGHT = 2


def _worker_drill(ctx: Context, *, kill: bool) -> None:
    ctx.exports_from_now()
    replica = ctx.stack.replicas("worker")[0]
    ctx.at(5)
    burst = ctx.background(lambda: ctx.facts.__setitem__("burst", ctx.site.request_exports(EXPORT_BURST)))
    ctx.sleep(1.0)  # exports are being queued and built now
    ctx.fault_begins(f"{'SIGKILL' if kill else 'SIGTERM'} {replica}")
    if kill:
        ctx.stack.kill(replica)
    else:
        ctx.stack.stop(replica, grace=60)
    burst.join(60)
    ctx.sleep(2)
    ctx.stack.start(replica)
    ctx.stack.wait_healthy(timeout=60)
    ctx.fault_ends(f"{replica} back")
    # A message lost with a killed worker comes back after the visibility timeout (30 s here).
    ctx.settle_exports()


def export_checks(ctx: Context, *, duplicates_allowed: int, what: str = "export") -> list[Check]:
    """Return the checks that every settled export is done and at most `duplicates_allowed` were built twice
    (`what` names the exports in the checks)."""
    states = ctx.facts.get("exports", {})
    unfinished = {i: s for i, (s, _) in states.items() if s != "done"}
    duplicates = sum(1 for _, attempts in states.values() if attempts > 1)
    done = f"{len(states) - len(unfinished)}/{len(states)} done" + (f"; not done: {unfinished}" if unfinished else "")
    return [
        Check(f"every {what} completed (none pending or running)", bool(states) and not unfinished, done),
        Check(
            f"duplicate runs <= {duplicates_allowed}",
            duplicates <= duplicates_allowed,
            f"{duplicates} exports built more than once",
        ),
    ]


def _judge_worker_drill(*, duplicates_allowed: int) -> Judge:
    def judge(ctx, figures, events) -> list[Check]:
        burst = ctx.facts.get("burst", [])
        accepted = sum(code == 202 for code, _ in burst)
        every = Check(
            "every export requested was accepted",
            bool(burst) and accepted == len(burst),
            f"{accepted}/{len(burst)} answered 202",
        )
        return [every, *export_checks(ctx, duplicates_allowed=duplicates_allowed)]

    return judge


@drill(
    "kill-worker",
    "SIGKILL of a worker in the middle of exports",
    "every export completes, none stays running, duplicates <= tasks in flight",
    duration=45,
    judge=_judge_worker_drill(duplicates_allowed=WORKER_IN_FLIGHT),
)
def kill_worker(ctx: Context) -> None:
    _worker_drill(ctx, kill=True)


@drill(
    "stop-worker",
    "SIGTERM of a worker while exports run",
    "nothing lost, nothing duplicated",
    duration=30,
    judge=_judge_worker_drill(duplicates_allowed=0),
)
def stop_worker(ctx: Context) -> None:
    _worker_drill(ctx, kill=False)


REDIS_DOWN_S = 30


def _judge_redis_down(ctx, figures, events) -> list[Check]:
    reads = [e for e in _in_window(figures, events) if not is_write(e)]
    bad_reads = [e for e in reads if not e.ok]
    outage = ctx.facts.get("outage_exports", [])
    states = ctx.facts.get("exports", {})
    lost = {i: s for i, (s, _) in states.items() if s != "done"}
    return [
        Check(
            "pages and API reads answered 2xx while Redis was down",
            not bad_reads,
            f"{len(bad_reads)} of {len(reads)} reads failed",
        ),
        Check(
            "exports during the outage: 202 or a clear 503",
            bool(outage) and all(c in (202, 503) for c, _ in outage),
            f"statuses {[c for c, _ in outage]}",
        ),
        Check(
            "a new export after Redis returned was done within 10 s",
            ctx.facts.get("fresh_exports_done", False),
            f"{ctx.facts.get('fresh_export_seconds')} s",
        ),
        Check("no export lost (all done)", bool(states) and not lost, f"{len(states) - len(lost)}/{len(states)} done"),
        _recovered(figures),
        _no_crash_loops(ctx),
    ]


@drill(
    "redis-down",
    "Redis down for 30 s",
    "reads answer 2xx; no crash loops; new exports 202 (queued later) or 503; recovery <= 10 s; no export lost",
    duration=60,
    judge=_judge_redis_down,
)
def redis_down(ctx: Context) -> None:
    ctx.exports_from_now()
    ctx.facts["restarts_before"] = ctx.stack.restart_counts()
    ctx.site.token()  # before the outage: signing in needs no Redis, but keep the probe simple
    ctx.fault_begins("redis stopped", at=8)
    ctx.stack.stop_service("redis")
    ctx.sleep(5)
    ctx.facts["outage_exports"] = ctx.site.request_exports(4, workers=2)
    ctx.sleep(REDIS_DOWN_S - (ctx.run.elapsed - ctx.fault_start))
    ctx.stack.start_service("redis")
    ctx.fault_ends("redis back")
    started = time.monotonic()
    fresh = [i for code, i in ctx.site.request_exports(2, workers=2) if i]
    done = ctx.site.wait_exports(fresh, timeout=RECOVERY_LIMIT_S)
    ctx.facts["fresh_export_seconds"] = round(time.monotonic() - started, 1)
    ctx.facts["fresh_exports_done"] = bool(done) and all(s == "done" for s, _ in done.values())
    # Exports accepted while Redis was down are resent by beat's sweeper (exports.requeue_stale).
    ctx.settle_exports()


def _judge_postgres_restart(ctx, figures, events) -> list[Check]:
    end = figures.window[1]
    during = _in_window(figures, events)
    unclear = [e for e in during if not e.ok and e.status != 503]
    slowest = slowest_service_s(during)
    after_500 = [e for e in events if e.due >= end and e.status is not None and e.status >= 500]
    return [
        Check("failures while down are 503s", not unclear, f"{len(unclear)} other failures: {_reasons(unclear)}"),
        Check("no request hung (service time <= 5 s)", slowest <= 5.0, f"slowest {slowest:.2f} s"),
        Check(
            "no 5xx after PostgreSQL returned and recovery",
            not [e for e in after_500 if e.due >= end + (figures.recovery_s or 0)],
            f"{len(after_500)} 5xx after its return",
        ),
        _recovered(figures),
    ]


@drill(
    "postgres-restart",
    "PostgreSQL restarted",
    "while down: fast, clear 503s (no hang, no 500); afterwards no stale-connection 500s; recovery <= 10 s",
    duration=40,
    judge=_judge_postgres_restart,
)
def postgres_restart(ctx: Context) -> None:
    _outage(ctx, "postgres", at=8, seconds=8)


def _judge_static_down(ctx, figures, events) -> list[Check]:
    others = [e for e in events if not e.ok and not e.request.startswith("static:")]
    assets = [e for e in events if not e.ok and e.request.startswith("static:")]
    detail = f"{len(others)} other failures, {len(assets)} asset failures"
    return [Check("only static assets failed", not others, detail)]


@drill(
    "static-down",
    "Static service down",
    "HTML pages still 200; only assets fail",
    duration=25,
    judge=_judge_static_down,
)
def static_down(ctx: Context) -> None:
    _outage(ctx, "static", at=6, seconds=8)


TICK_TASK = "polls.close_expired"
TICK_SECONDS = 10  # CLOSE_EXPIRED_POLLS_EVERY in the drill stack


def _task_runs(ctx: Context, since: float) -> list[float]:
    times = []
    for replica in ctx.stack.replicas("worker"):
        for line in ctx.site.logs(replica, since=since):
            if line.get("message", "").startswith(f"Task {TICK_TASK}[") and "received" in line["message"]:
                times.append(datetime.strptime(line["time"], "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return sorted(times)


def _judge_beat_restart(ctx, figures, events) -> list[Check]:
    runs = ctx.facts.get("runs", [])
    gaps = [round(b - a, 1) for a, b in zip(runs, runs[1:], strict=False)]
    twice = [g for g in gaps if g < TICK_SECONDS / 2]
    detail = f"{len(runs)} runs, gaps {gaps} s"
    return [Check(f"{TICK_TASK} never ran twice for one tick", len(runs) >= 3 and not twice, detail)]


@drill(
    "beat-restart",
    "beat restarted around a schedule tick",
    "no periodic task runs twice",
    duration=45,
    judge=_judge_beat_restart,
)
def beat_restart(ctx: Context) -> None:
    since = time.time()
    beat = ctx.stack.replicas("beat")[0]
    ctx.at(3)
    # Restart just after a tick (a lost schedule file would fire it again), then just before one.
    seen = len(_task_runs(ctx, since))
    while len(_task_runs(ctx, since)) == seen and time.monotonic() < ctx.deadline - 30:
        time.sleep(0.2)
    ctx.fault_begins(f"restart {beat} just after a tick")
    ctx.stack.restart(beat)
    ctx.stack.wait_healthy(timeout=60)
    ctx.sleep(TICK_SECONDS - 2)
    ctx.mark(f"restart {beat} just before a tick")
    ctx.stack.restart(beat)
    ctx.stack.wait_healthy(timeout=60)
    ctx.fault_ends("beat back")
    ctx.sleep(2.5 * TICK_SECONDS)
    ctx.facts["runs"] = _task_runs(ctx, since)


@drill("gateway-reload", "Gateway config reload under load", "zero failed requests", duration=25)
def gateway_reload(ctx: Context) -> None:
    ctx.fault_begins("nginx -s reload", at=8)
    ctx.stack.exec("gateway", "nginx", "-s", "reload")
    ctx.sleep(3)
    ctx.mark("nginx -s reload (again)")
    ctx.stack.exec("gateway", "nginx", "-s", "reload")
    ctx.sleep(2)
    ctx.fault_ends("reloads done")


PAUSE_SECONDS = 6


def _judge_slow_db(ctx, figures, events) -> list[Check]:
    slowest = slowest_service_s([e for e in events if e.due >= figures.window[0]])
    bad = [e for e in events if not e.ok and e.status not in (503, 504)]
    return [
        Check(
            f"no request waited past the gateway timeout ({GATEWAY_READ_TIMEOUT_S:g} s)",
            slowest <= GATEWAY_READ_TIMEOUT_S + 2,
            f"slowest {slowest:.2f} s",
        ),
        Check("failures, if any, are clear 503/504", not bad, f"{len(bad)} others: {_reasons(bad)}"),
        _recovered(figures),
        _no_crash_loops(ctx),
    ]


@drill(
    "slow-db",
    "A database that stops answering (postgres paused for 6 s)",
    "no request hangs past the gateway timeout (504 instead); no pile-up; recovers on its own within 10 s",
    duration=40,
    judge=_judge_slow_db,
)
def slow_db(ctx: Context) -> None:
    ctx.facts["restarts_before"] = ctx.stack.restart_counts()
    ctx.fault_begins(f"postgres paused ({PAUSE_SECONDS} s)", at=8)
    ctx.stack.pause("postgres")
    try:
        ctx.sleep(PAUSE_SECONDS)
    finally:
        ctx.stack.unpause("postgres")
    ctx.fault_ends("postgres unpaused")
