"""Isolation (issue 11, item 4): a flood on one service, and what the others' users see.

Each side (the decomposed stack through its gateway, and the monolith) runs three windows in a row
(CONDITIONS: quiet, API flood, export flood) under a light open-loop probe of the web home page and
the API poll list; the phase's row in bench/README.md says what each window does and what counts.
Its figures, from request_figures to chart_timelines, are pure: loadtest/tests/test_bench_isolation.py.

Why wrk and not the open-loop client at twice the capacity: past capacity an open-loop client
with a connection per user keeps every connection busy and leaves the rest of its schedule
unsent (the first runs did: half of it never left), so the stack sees the same closed loop of
connections either way. The flood stands in for clients on other machines, and in Python it
took 0.5-0.7 of a core of this 2-core host for about 690 answers a second, which slowed the
probe's client and the probed services as much as the flooded API did; wrk takes a few percent.

Why the backlog and not POSTs during the window: an export request costs the api about what its
build costs the worker (a few ms each: queueing 300 through the domain service took 2.8 s in the
api container, the worker built 37-74 a second at its quota), so one api replica at the same quota
cannot make the queue deep with POSTs; POSTs that fast would only be an API flood, which the second
window measures. A deep queue is what many api replicas in front of few workers leave behind.

How busy the host was and how late the probe's own client ran are recorded beside each p99: on a
host that other work keeps busy, p99 is the host's jitter as much as the design.

The control says how much: throughout every window a second client sends CONTROL_RATE requests a
second to the floor (the bare Django view, behind its own gateway: containers that share nothing
with the flooded services but the host). Its p99 ratio is what the flood did to a p99 through the
host alone; a probe's ratio near the control's is the host's, not a missing isolation (the first
hand-run: web x2.3-2.6 under the API flood, the control x2.3-3.3).
"""

import math
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import yaml

from polls_loadtest.bench import STACK, phases, wrk
from polls_loadtest.bench.stats import spread
from polls_loadtest.load.openloop import LoadSettings, OpenLoopRun
from polls_loadtest.load.recorder import Event, Recorder, percentile
from polls_loadtest.stack.compose import REPO
from polls_loadtest.stack.usage import Usage

BENCH_COMPOSE = REPO / "loadtest" / "compose" / "bench.yml"
QUOTA_SERVICES = ("gateway", "static", "web", "api", "worker", "monolith")
# Where each side's users come in: the decomposed stack's gateway, or the one monolith.
ENTRY = {"decomposed": "gateway", "monolith": "monolith"}
WINDOW_SECONDS = 10
CONDITIONS = ("quiet", "API flood", "export flood")
# requests/s, half web home page and half API poll list: light next to either, and 400 of each
# per window, so a p99 over a side's repeats rests on its 8 slowest requests, not 2 (the first runs
# at 40/s had quiet p99s from 9 to 26 ms on one stack)
PROBE_RATE = 80
PROBE_USERS = 8
WEB, API = "web: home", "api: poll list"  # the probe's two requests, as the client names them
CONTROL = "floor: bare view"
CONTROL_RATE = PROBE_RATE // 2  # as many as each of the probe's two requests
FLOOD_CONNECTIONS = 32  # enough that the flooded service always has a queue
FLOOD_LEAD_SECONDS = 1  # the flood runs this long before the probe starts, so it meets a full queue
# The worker built 37-74 exports/s at its 0.5 CPU in this phase's first runs (a shared host: it
# got 0.2-0.45 of a core). The backlog holds 1.2 windows at 70/s, so the queue stays deep to the
# window's end without the phase waiting long after it (the report gives how long the worker took).
EXPORTS_PER_SECOND = 70
EXPORT_BACKLOG = math.ceil(1.2 * WINDOW_SECONDS * EXPORTS_PER_SECOND)
# What the issue asks of the decomposed stack: (probe, flood, largest p99 ratio to quiet).
TARGETS = {"web": ("API flood", 2.0), "api": ("export flood", 1.5)}
PROBE_NAMES = {"web": WEB, "api": API}


# The home page (the cached list of open polls) and the API poll list; the floor's bare JSON view.
PROBE = phases.one_get("browse", "/", WEB) | phases.API_READ
CONTROL_PROBE = phases.one_get("api", phases.POLL_LIST, CONTROL)


def bench_quotas() -> dict[str, float]:
    """The CPU quota bench.yml gives each measured service (`cpus`, or deploy.resources.limits)."""
    services = yaml.safe_load(BENCH_COMPOSE.read_text())["services"]
    quotas = {}
    for name in QUOTA_SERVICES:
        spec = services[name]
        quotas[name] = float(spec.get("cpus") or spec["deploy"]["resources"]["limits"]["cpus"])
    return quotas


def request_figures(events: list[Event], request: str) -> dict:
    """Count, failures, p50/p99/max (from the scheduled send time) and statuses of one request."""
    mine = [e for e in events if e.request == request]
    latencies = sorted(e.latency_ms for e in mine)
    figures = {
        "count": len(mine),
        "failed": sum(not e.ok for e in mine),
        "statuses": dict(sorted(Counter(e.outcome for e in mine).items())),
        "latencies_ms": [round(v, 1) for v in latencies],  # pooled over the repeats by summarise()
    }
    if latencies:
        figures.update(
            p50_ms=round(percentile(latencies, 50), 1),
            p99_ms=round(percentile(latencies, 99), 1),
            max_ms=round(latencies[-1], 1),
        )
    return figures


def per_second_p99(events: list[Event], request: str, seconds: float) -> dict[str, list]:
    """The p99 of one request per second of scheduled time, {"t": [...], "p99_ms": [...]} (None: none due)."""
    slices: list[list[float]] = [[] for _ in range(math.ceil(seconds))]
    for e in events:
        if e.request == request and 0 <= e.due < len(slices):
            slices[int(e.due)].append(e.latency_ms)
    return {
        "t": list(range(len(slices))),
        "p99_ms": [round(percentile(sorted(v), 99), 1) if v else None for v in slices],
    }


def flood_outcome(result: wrk.WrkResult, capacity: float) -> dict:
    """What the flood itself got: its connections, what it got answered against the side's
    capacity, its errors and latency, and its own CPU."""
    return {
        "connections": FLOOD_CONNECTIONS,
        "capacity_per_second": capacity,
        "answered_per_second": round(result.rps, 1),
        "requests": result.requests,
        "errors": result.errors,
        "latency_ms": result.latency_ms,
        "client_cpu_pct": round(100 * result.client_cpu, 1),
    }


def summarise(runs: dict[str, list[dict]]) -> dict:
    """Per side and probe, the figures of the report's isolation table, and whether the decomposed
    stack met the issue's targets; the control's pooled p99s come from the same windows.

    `runs` is {side: [repeat, ...]}, a repeat {condition: window}, a window {"web": figures,
    "api": figures, "host_busy_pct", "probe_p99_schedule_lag_ms", "discarded"}. A repeat counts
    when neither of its two windows was discarded; the windows of a side run in turn (quiet, API
    flood, export flood) in every repeat, so drift between repeats hits both conditions alike.
    """
    figures: dict[str, dict] = {}
    for side, repeats in runs.items():
        figures[side] = {}
        for probe, (condition, target) in TARGETS.items():
            kept = [
                (r["quiet"], r[condition])
                for r in repeats
                if all(not w["discarded"] and "p99_ms" in w[probe] for w in (r["quiet"], r[condition]))
            ]
            pairs = [(quiet[probe], flooded[probe]) for quiet, flooded in kept]
            ratio = spread([flooded["p99_ms"] / quiet["p99_ms"] for quiet, flooded in pairs if quiet["p99_ms"]])
            errors = sum(flooded["failed"] for _, flooded in pairs)
            pooled = _pooled_p99(pairs)
            control = _pooled_p99([(q["control"], f["control"]) for q, f in kept if "control" in q and "control" in f])
            p99 = _quiet_and_flooded(pairs, "p99_ms")
            figures[side][probe] = {
                "flood": condition,
                "pooled": pooled,
                "control": control,
                # the probe's ratio over the control's: above 1, the flood reached the probe by more
                # than the host's own contention did
                "over_control": (
                    round(pooled["ratio"] / control["ratio"], 2)
                    if pooled.get("ratio") and control.get("ratio")
                    else None
                ),
                "quiet_p99_ms": p99["quiet"],
                "flooded_p99_ms": p99["flooded"],
                "ratio": ratio,
                "p50_ms": _quiet_and_flooded(pairs, "p50_ms"),
                "errors": errors,
                "host_busy_pct": _quiet_and_flooded(kept, "host_busy_pct"),
                "flooded_client_lag_p99_ms": spread([flooded["probe_p99_schedule_lag_ms"] for _, flooded in kept]),
                "target_ratio": target,
                "met": bool(pooled) and pooled["ratio"] <= target and (probe != "web" or errors == 0),
            }
    return figures


def _quiet_and_flooded(pairs: list[tuple[dict, dict]], key: str) -> dict[str, dict]:
    """The spread of one figure over the quiet windows and over the flooded ones."""
    return {"quiet": spread([quiet[key] for quiet, _ in pairs]), "flooded": spread([f[key] for _, f in pairs])}


def _pooled_p99(pairs: list[tuple[dict, dict]]) -> dict:
    """The p99 of every quiet and every flooded request of the kept repeats, and their ratio: the
    target's figure (a window's own p99 rests on its few slowest requests; the per-repeat ratios
    stay beside it as the spread)."""
    quiet = sorted(v for q, _ in pairs for v in q["latencies_ms"])
    flooded = sorted(v for _, f in pairs for v in f["latencies_ms"])
    if not quiet or not flooded:
        return {}
    q99, f99 = percentile(quiet, 99), percentile(flooded, 99)
    return {
        "quiet_p99_ms": round(q99, 1),
        "flooded_p99_ms": round(f99, 1),
        "ratio": round(f99 / q99, 2) if q99 else None,
        "requests": {"quiet": len(quiet), "flooded": len(flooded)},
    }


def chart_timelines(runs: dict[str, list[dict]], gap: float = 2.0) -> dict:
    """The per-second p99 of each probe over one repeat of each side (the last), its three windows
    laid end to end `gap` seconds apart, a None after each so no line joins two windows; with the
    windows' spans for shading."""
    starts = {condition: i * (WINDOW_SECONDS + gap) for i, condition in enumerate(CONDITIONS)}
    sides = {}
    for side, repeats in runs.items():
        lines = {probe: {"t": [], "p99_ms": []} for probe in PROBE_NAMES}
        for condition, start in starts.items():
            for probe, line in lines.items():
                seconds = repeats[-1][condition]["timeline"][probe]
                line["t"] += [start + t for t in seconds["t"]] + [start + WINDOW_SECONDS]
                line["p99_ms"] += [*seconds["p99_ms"], None]
        sides[side] = lines
    windows = [{"label": c, "start": start, "end": start + WINDOW_SECONDS} for c, start in starts.items()]
    return {"windows": windows, "sides": sides}


def _probe_run(target: str, rate: float, users: int, mix: dict[str, int], scenarios: dict) -> OpenLoopRun:
    settings = LoadSettings(target=target, rate=rate, duration=WINDOW_SECONDS, users=users, mix=mix, timeout=5, drain=5)
    return OpenLoopRun(settings, scenarios=scenarios, recorder=Recorder(keep_events=True))


def _probe_window(b: phases.Bench, side: str, label: str) -> dict:
    """The probe for one window against a side: both requests' figures, per-second p99s, the
    control's figures, the CPU each service used during it, and the probe client's own CPU (over
    70 % of a core: discarded)."""
    run = _probe_run(phases._url(ENTRY[side], ""), PROBE_RATE, PROBE_USERS, {"browse": 1, "api": 1}, PROBE)
    control = _probe_run(phases._url("floor-gateway", ""), CONTROL_RATE, PROBE_USERS // 2, {"api": 1}, CONTROL_PROBE)
    with Usage(STACK) as usage:
        control.start()
        results = run.run()
        control.wait()
    events = run.recorder.events
    client_cpu = results["client"]["cpu_percent_of_one_core"]
    window = {probe: request_figures(events, name) for probe, name in PROBE_NAMES.items()}
    window.update(
        control=request_figures(control.recorder.events, CONTROL),
        timeline={probe: per_second_p99(events, name, WINDOW_SECONDS) for probe, name in PROBE_NAMES.items()},
        cpu_cores={service: round(s / WINDOW_SECONDS, 3) for service, s in usage.cpu_by_service.items()},
        host_busy_pct=usage.host_busy_pct,
        probe_client_cpu_pct=client_cpu,
        probe_p99_schedule_lag_ms=results["client"]["p99_schedule_lag_ms"],
        discarded=client_cpu > phases.CLIENT_CPU_LIMIT_PCT,
    )
    web, api, floor = window["web"], window["api"], window["control"]
    b.say(
        f"{label}: web home p99 {web.get('p99_ms')} ms ({web['failed']} failed), "
        f"API list p99 {api.get('p99_ms')} ms ({api['failed']} failed), control p99 {floor.get('p99_ms')} ms, "
        f"host {usage.host_busy_pct} % busy"
    )
    return window


def _under_api_flood(b: phases.Bench, side: str, capacity: float, label: str) -> dict:
    """The probe's window while wrk (FLOOD_LEAD_SECONDS ahead of it, bounded by its own watchdog)
    floods the side's API poll list."""
    seconds = FLOOD_LEAD_SECONDS + WINDOW_SECONDS + 1
    with ThreadPoolExecutor(1, thread_name_prefix=f"flood-{side}") as pool:
        flood = pool.submit(wrk.run, phases._url(ENTRY[side]), seconds=seconds, connections=FLOOD_CONNECTIONS)
        time.sleep(FLOOD_LEAD_SECONDS)
        window = _probe_window(b, side, label)
        try:
            result = flood.result(WINDOW_SECONDS + 30)
        except Exception as error:  # stops the bench, which reports it
            raise RuntimeError(f"the API flood against {side}: {type(error).__name__}: {error}") from error
    window["flood"] = f = flood_outcome(result, capacity)
    b.say(
        f"    flood: {f['answered_per_second']}/s answered (capacity {capacity:g}/s), {f['errors']} errors, "
        f"wrk CPU {f['client_cpu_pct']:g} %"
    )
    return window


def _under_export_flood(b: phases.Bench, side: str, label: str) -> dict:
    """The probe's window while the worker builds a backlog of EXPORT_BACKLOG exports."""
    windows: list[dict] = []
    exports = phases._export_batch(
        EXPORT_BACKLOG, 0, pause=True, while_building=lambda: windows.append(_probe_window(b, side, label))
    )
    settled = _settle("postgres")
    b.say(
        f"    exports: {exports['done']}/{exports['queued']} built at {exports.get('exports_per_second')}/s, "
        f"queue wait p99 {exports.get('queue_wait_ms', {}).get('p99')} ms; PostgreSQL idle again after {settled} s"
    )
    return windows[0] | {"exports": exports, "settle_seconds": settled}


def _settle(service: str, idle_cores: float = 0.05, longest: int = 15) -> int:
    """Wait until the service uses under `idle_cores` over a second (at most `longest` seconds);
    return the seconds waited. After the backlog, PostgreSQL's own work (autovacuum, checkpoint)
    landed in the next side's quiet window once: both its probes stalled for 2 s at 100-250 ms."""
    for waited in range(longest):
        with Usage(STACK) as usage:
            time.sleep(1)
        if usage.cpu_by_service.get(service, 0.0) < idle_cores:
            return waited + 1
    return longest


def _api_capacity(b: phases.Bench, side: str) -> float:
    """The side's capacity for the API poll list: the gateway phase's figure when it ran (the
    same quotas), else a short wrk run."""
    earlier = b.done.get("gateway", {}).get("rps", {}).get("through gateway", {})
    if side == "decomposed" and earlier.get("n"):
        return earlier["median"]
    return phases._wrk(b, phases._url(ENTRY[side]), f"  {side}: API list capacity (wrk)")["rps"]


def isolation(b: phases.Bench) -> dict:
    """Issue 11 item 4: web and API p99 quiet and under an API flood or an export flood, for the
    decomposed stack and the monolith in turn."""
    for service in ("web", "api", "worker"):
        STACK.scale(service, 1)
    quotas = bench_quotas()
    STACK.set_cpus(quotas)
    # Warm both probes' pages and processes: on a fresh stack (`--only isolation`) the first quiet
    # window met cold ones and had a p99 of 78 ms against 8-15 ms after, which flattered the ratio.
    for side in ENTRY:
        for path in ("/", phases.POLL_LIST):
            wrk.run(phases._url(ENTRY[side], path), seconds=2)
    capacity = {side: _api_capacity(b, side) for side in ENTRY}
    under: dict[str, Callable[[str, str], dict]] = {
        "quiet": lambda side, label: _probe_window(b, side, label),
        "API flood": lambda side, label: _under_api_flood(b, side, capacity[side], label),
        "export flood": lambda side, label: _under_export_flood(b, side, label),
    }

    def measure(side: str, label: str) -> dict:
        return {condition: under[condition](side, f"{label}, {condition}") for condition in CONDITIONS}

    runs = phases._in_turn(max(2, b.plan.repeats - 1), ENTRY, measure)
    return {
        "quotas": quotas,
        "window_seconds": WINDOW_SECONDS,
        "probe_rate": PROBE_RATE,
        "api_capacity": capacity,
        "flood_connections": FLOOD_CONNECTIONS,
        "export_backlog": EXPORT_BACKLOG,
        "runs": runs,
        "figures": summarise(runs),
        "timelines": chart_timelines(runs),
    }
