"""The measurements of `make bench`: one function per section of the report, listed in cli.PHASES.

Each phase sets the CPU quotas it states (recorded in its result), repeats each measurement
`repeats` times with the sides of a comparison in turn (`_in_turn`: drift on a shared machine
hits every side alike), and returns plain dicts for the JSON report. Load goes only to the
project's containers.

To add a phase: write `def name(b: Bench) -> dict | None` (b.plan, b.say, and b.done, the figures
of the phases run before it), add `"name": Phase(title, name)` to cli.PHASES where it should run
(with `needs` if it uses another phase's figures), and a section for it in report.py.
"""

import json
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from polls_loadtest.bench import STACK, usl, wrk
from polls_loadtest.bench.celery_figures import export_figures
from polls_loadtest.bench.stats import ratio, spread
from polls_loadtest.load.openloop import LoadSettings, OpenLoopRun
from polls_loadtest.load.scenarios import SCENARIOS, Request, Scenario
from polls_loadtest.stack.compose import GATEWAY_RESOLVE_SECONDS, override_file
from polls_loadtest.stack.usage import Usage

CLIENT_CPU_LIMIT_PCT = 100 * wrk.CLIENT_CPU_LIMIT
PROBE = Path(__file__).with_name("exports_probe.py")
# Where each service listens inside the stack's network (docker-compose.yml, bench.yml).
PORTS = {"gateway": 8080, "floor-gateway": 8080, "static": 8080, "api": 8001, "floor": 8001, "monolith": 8000}
POLL_LIST = "/api/polls/"

# Equal CPU for both sides of each comparison (cores, CFS quota per container).
STATIC_QUOTAS = {"static": 0.5, "monolith": 0.5}
API_QUOTAS = {"api": 0.5, "gateway": 0.5}
# The floor phase: the floor and the api at the same quota, each gateway at the same quota, and
# web as much as api (its pages against the same floor).
FLOOR_QUOTAS = {"floor": 0.5, "floor-gateway": 0.5, **API_QUOTAS, "web": 0.5}
# Scaling (item 4): one and two replicas at the same quota, small enough that two replicas and
# what they share (gateway, PostgreSQL, Redis, the load generator) fit in the host's 2 cores. At
# 0.5 per replica the pair and the rest kept the host over 90 % busy, and the figure measured the
# host rather than the design (docs/performance.md). Every run records how busy the host was.
SCALING_QUOTA = 0.3
SCALING_TARGET = 0.8  # efficiency X(2) / 2 X(1)
# The mixed scenario: 1.2 cores of serving, split by measured demand (item 7): the gateway used
# about 0.04 of a core and static under 0.01 at saturation, web and api the rest in about a 55:45
# ratio.
DECOMPOSED_QUOTAS = {"gateway": 0.1, "static": 0.05, "web": 0.6, "api": 0.45, "worker": 0.3}
MIX = {"browse": 6, "api": 3, "export": 1}
# Offered rate of the saturated mixed runs: well above what the stack answers at 1.5 CPU.
SATURATING_RATE = 600
# Services whose CPU each floor-phase request is charged with (ms per request, from cgroups).
COST_SERVICES = ("floor", "floor-gateway", "api", "web", "gateway", "redis", "postgres")
FLOOR = "floor, direct"
MEMORY_LIMITS_MB = {"web": 250, "api": 250, "gateway": 30, "static": 30}
# What each api setting buys, at the api's bench quota: the cached list through the gateway with
# config.env's values and each alternative (a trial recreates the bench's api replica with the
# environment given; config.env holds the deployed values). The gunicorn trials show the default is
# the fastest (item 6); "throttles off" shows what the API throttles cost (the hardening issue: the
# limits must not undo the per-request savings), counting in Redis at the load stacks' rates, which
# never trip, so every request pays for the count. The login lockouts touch only login requests.
DEFAULT_TRIAL = "config.env (2 workers x 4 threads, throttles counting)"
TRIALS = {
    DEFAULT_TRIAL: {},
    "1 worker x 8 threads": {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "8"},
    "throttles off": {"API_THROTTLE_ANON": "none", "API_THROTTLE_USER": "none"},
}


@dataclass(frozen=True)
class Plan:
    repeats: int = 3
    wrk_seconds: float = 5
    wrk_connections: int = 16
    latency_seconds: float = 15
    mixed_seconds: float = 12
    mixed_users: int = 12
    export_batch: int = 600  # long enough (about 7 s for one worker) that starting the workers is noise
    votes_seconds: float = 15  # per run of the votes phase: about 1900 requests and 120 votes at half capacity
    profile_seconds: float = 10  # of wrk and py-spy per profiled read


@dataclass
class Bench:
    """What a phase gets: the plan, the progress printer, and the figures of the phases before it."""

    plan: Plan
    say: Callable[[str], None]
    folder: Path | None = None  # the report's folder, for what a phase writes beside bench.md (SVGs)
    done: dict[str, dict] = field(default_factory=dict)  # by phase name: the report's "phases"
    memory_at_rest: dict[str, int] = field(default_factory=dict)  # by container, before any load


def _url(service: str, path: str = POLL_LIST) -> str:
    """The URL of a path on the oldest replica of a service, by its address on the stack's network."""
    return f"http://{STACK.one(service).ip}:{PORTS[service]}{path}"


def _in_turn(repeats: int, sides: Iterable[str], measure: Callable[[str, str], dict], noun: str = "") -> dict:
    """Return {side: [run, ...]}: measure(side, label) once per side per repeat, the sides in turn."""
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for i in range(repeats):
        for side in runs:
            runs[side].append(measure(side, f"  {side}{noun} {i + 1}/{repeats}"))
    return runs


def _wrk(b: Bench, url: str, label: str) -> dict:
    with Usage(STACK) as usage:
        result = wrk.run(url, seconds=b.plan.wrk_seconds, connections=b.plan.wrk_connections)
    row = {**result.as_dict(), "cpu_seconds": usage.cpu_by_service, "host_busy_pct": usage.host_busy_pct}
    note = " DISCARDED: wrk used over 70 % of a core" if result.discarded else ""
    b.say(
        f"{label}: {result.rps:8.1f} req/s  p99 {result.latency_ms['p99']:.1f} ms  "
        f"wrk CPU {100 * result.client_cpu:.0f} %, host {usage.host_busy_pct} % busy{note}"
    )
    return row


def _wrk_in_turn(b: Bench, urls: dict[str, str]) -> dict[str, list[dict]]:
    """wrk against each URL in turn; return the runs by name."""
    return _in_turn(b.plan.repeats, urls, lambda name, label: _wrk(b, urls[name], label))


def _rps(rows: list[dict]) -> dict:
    """The spread of req/s over the wrk runs that were neither discarded nor had errors."""
    return spread([r["rps"] for r in rows if not r["discarded"] and not r["errors"]])


def _compare(runs: dict[str, list[dict]], a: str, other: str, *, target: float) -> dict:
    """The req/s of two sides' wrk runs; the ratio of a to the other meets `target` when at least that."""
    rps = {name: _rps(rows) for name, rows in runs.items()}
    result = ratio(rps[a], rps[other])
    return {
        "rps": rps,
        "discarded": {name: sum(r["discarded"] for r in rows) for name, rows in runs.items()},
        "ratio": result,
        "target": target,
        "met": result is not None and result >= target,
    }


def static_vs_django(b: Bench) -> dict:
    """Item 1: one hashed stylesheet from the static service and from Django (the monolith)."""
    STACK.set_cpus(STATIC_QUOTAS)
    manifest = json.loads(STACK.exec("monolith", "cat", "/app/staticfiles/staticfiles.json"))
    asset = "/static/" + manifest["paths"]["web/site.css"]
    sides = {"static service": _url("static", asset), "django (one gunicorn)": _url("monolith", asset)}
    runs = _wrk_in_turn(b, sides)
    return {"asset": asset, "quotas": STATIC_QUOTAS, "runs": runs, **_compare(runs, *sides, target=10.0)}


def gateway_vs_direct(b: Bench) -> dict:
    """Item 2: GET /api/polls/ through the gateway and straight to the one api replica, from the
    floor phase's runs of both (the same quotas, in turn with the floor's other reads); beside it,
    the same ratio for the floor's bare view, which has no code of the api's: the share of the
    hop that any Django view behind nginx pays (its upstream switches context 2 to 3 times as
    often per request through nginx as straight from wrk, measured by hand)."""
    f = b.done["floor"]
    runs = {"through gateway": f["runs"]["API list"], "direct to api": f["runs"]["API list, direct"]}
    floor_ratio = f["ratio_to_floor"].get("floor, through a gateway")  # the floor phase's own figure
    return {"path": POLL_LIST, "quotas": API_QUOTAS, **_compare(runs, *runs, target=0.85), "floor_ratio": floor_ratio}


def at_floor_quotas() -> int:
    """Set the floor phase's quotas with one api and one web replica; return the id of a poll the
    API lists (for the reads of one poll)."""
    STACK.set_cpus(FLOOR_QUOTAS)
    for service in ("api", "web"):
        STACK.scale(service, 1)
    return json.loads(urllib.request.urlopen(_url("api"), timeout=10).read())["results"][0]["id"]


def floor(b: Bench) -> dict:
    """The floor, a bare Django JSON view (config.settings.floor), and what each read costs above it:
    its req/s as a ratio to the floor served directly, and the CPU per request of every service it touched."""
    poll = at_floor_quotas()
    reads = {
        FLOOR: _url("floor"),
        "floor, through a gateway": _url("floor-gateway"),
        "API list, direct": _url("api"),
        "API list": _url("gateway"),
        "API poll": _url("gateway", f"{POLL_LIST}{poll}/"),
        "API results": _url("gateway", f"{POLL_LIST}{poll}/results/"),
        "web home page": _url("gateway", "/"),
    }
    runs = _wrk_in_turn(b, reads)
    rps = {name: _rps(rows) for name, rows in runs.items()}
    return {
        "quotas": FLOOR_QUOTAS,
        "runs": runs,
        "rps": rps,
        "ratio_to_floor": {name: ratio(rps[name], rps[FLOOR]) for name in runs},
        "cpu_ms_per_request": {name: _cpu_ms_per_request(rows) for name, rows in runs.items()},
    }


def _cpu_ms_per_request(rows: list[dict]) -> dict[str, dict]:
    """Return {service: spread of CPU ms per request} over the kept runs, leaving out services under
    0.05 ms (health probes and idle replicas, not the request)."""
    kept = [r for r in rows if r["requests"] and not r["discarded"] and not r["errors"]]
    per_service = {
        service: spread([1000 * r["cpu_seconds"].get(service, 0) / r["requests"] for r in kept])
        for service in COST_SERVICES
    }
    return {service: figure for service, figure in per_service.items() if figure.get("median", 0) >= 0.05}


def one_get(scenario: str, path: str, name: str) -> dict[str, Scenario]:
    """A journey of one anonymous GET of `path`, as a scenario of the mix filed under `scenario`
    (LoadSettings accepts only the names of SCENARIOS in its mix)."""

    def journey(_visitor) -> object:
        yield Request("GET", path, name)

    return {scenario: Scenario(scenario, journey)}


API_READ = one_get("api", POLL_LIST, "api: poll list")  # the read the latency target is about


def _openloop(b: Bench, label: str, *, scenarios=SCENARIOS, saturate: bool = False, **settings) -> dict:
    """Run the open-loop client with these LoadSettings; account CPU only over the schedule (not
    the sign-ins).

    saturate: the rate is above capacity, so every user is busy all the time and the client
    works as a closed loop of `users` connections; what counts is the answers completed during
    the schedule. The request timeout is then longer than the run, so none of those is a
    client-side timeout, and the backlog left at the end is dropped after 2 s.
    """
    seconds = settings["duration"]
    timeout, drain = (seconds + 20, 2) if saturate else (5, 5)
    run = OpenLoopRun(LoadSettings(**settings, timeout=timeout, drain=drain), scenarios=scenarios)
    rate, users = run.settings.rate, run.settings.users
    run.start()
    run.wait_started(120)  # the users sign in first
    with Usage(STACK) as usage:
        results = run.wait()
    per_second = results["per_second"]
    # Throughput is what was answered as expected: a fast error is not capacity.
    succeeded = sum(c for t, c in zip(per_second["t"], per_second["succeeded"]) if t < seconds)
    summary, by_request = results["summary"], results["by_request"]
    by_name = {name: tally["ok"] + tally["failed"] for name, tally in by_request.items()}
    by_service = Counter()  # requests by the service that answers them ("api: vote": api)
    for name, count in by_name.items():
        by_service[name.split(":")[0]] += count
    lat, client_cpu = summary["latency_ms"], results["client"]["cpu_percent_of_one_core"]
    row = {
        "rate": rate,
        "seconds": seconds,
        "users": users,
        "throughput": round(succeeded / seconds, 1),
        "ok": summary["ok"],
        "failed": summary["failed"],
        "latency_ms": lat,
        "service_time_ms": summary["service_time_ms"],
        "requests_by_service": dict(by_service),
        "requests_by_name": by_name,
        "failed_by_name": {name: tally["failed"] for name, tally in by_request.items() if tally["failed"]},
        "client_cpu_pct": client_cpu,
        "discarded": client_cpu > CLIENT_CPU_LIMIT_PCT,
        "cpu_seconds": usage.cpu_by_service,
        "host_busy_pct": usage.host_busy_pct,
        "peak_memory": usage.peak_memory,
    }
    note = " DISCARDED: client used over 70 % of a core" if row["discarded"] else ""
    b.say(
        f"{label}: {row['throughput']:7.1f} req/s done at {rate:g}/s offered, p50 {lat.get('p50', 0):.1f} "
        f"p99 {lat.get('p99', 0):.1f} ms, failed {summary['failed']}, client CPU {client_cpu:.0f} %{note}"
    )
    return row


def _latency_spreads(runs: list[dict], *percentiles: str) -> dict[str, dict]:
    """The spread of each latency percentile over the open-loop runs that were not discarded."""
    kept = [r for r in runs if not r["discarded"]]
    return {p: spread([r["latency_ms"][p] for r in kept if p in r["latency_ms"]]) for p in percentiles}


def _half_capacity(b: Bench) -> float | None:
    """Half of what the gateway phase measured through the gateway (None when it measured nothing)."""
    capacity = b.done["gateway"]["rps"]["through gateway"]
    return max(1.0, round(capacity["median"] * 0.5, 1)) if capacity.get("n") else None


def read_latency(b: Bench) -> dict | None:
    """Item 3: open-loop GET /api/polls/ through the gateway at 50 % of the measured capacity."""
    if (rate := _half_capacity(b)) is None:
        return None
    STACK.set_cpus(API_QUOTAS)
    load = dict(target=_url("gateway", ""), rate=rate, duration=b.plan.latency_seconds, users=16, mix={"api": 1})
    runs = [
        _openloop(b, f"  open loop {i + 1}/{b.plan.repeats}", scenarios=API_READ, **load) for i in range(b.plan.repeats)
    ]
    figures = _latency_spreads(runs, "p50", "p99", "p99_9")
    return {
        "capacity_rps": b.done["gateway"]["rps"]["through gateway"]["median"],
        "rate": rate,
        "quotas": API_QUOTAS,
        "runs": runs,
        "latency_ms": figures,
        "discarded": sum(r["discarded"] for r in runs),
        "target_p99_ms": 50,
        "met": bool(figures["p99"].get("n")) and figures["p99"]["median"] <= 50,
    }


def _scaling(b: Bench, noun: str, measure: Callable[[str, str], dict], figure: str, spread_of: Callable) -> dict:
    """Measure 1 and 2 replicas in turn; return the runs, `figure` (the spread of each side's runs), the
    efficiency X(2) / 2 X(1), and how busy the host was."""
    runs = _in_turn(max(2, b.plan.repeats - 1), ("1", "2"), measure, noun)
    per_side = {n: spread_of(rows) for n, rows in runs.items()}
    one, two = per_side.values()
    efficiency = round(usl.efficiency(one["median"], two["median"]), 3) if one.get("n") and two.get("n") else None
    busy = {
        n: spread([r["host_busy_pct"] for r in rows if r.get("host_busy_pct") is not None]) for n, rows in runs.items()
    }
    return {
        "runs": runs,
        figure: per_side,
        "host_busy_pct": busy,  # percent of all cores: near 100, the host set the figure, not the design
        "efficiency": efficiency,
        "target": SCALING_TARGET,
        "met": efficiency is not None and efficiency >= SCALING_TARGET,
    }


def api_scaling(b: Bench) -> dict:
    """Item 4a: api throughput through the gateway with 1 and 2 replicas, each at the same quota."""
    url, quotas = _url("gateway"), {"api": SCALING_QUOTA, "gateway": API_QUOTAS["gateway"]}

    def measure(replicas: str, label: str) -> dict:
        seen = _api_ready(url, replicas=int(replicas), quotas=quotas)
        b.say(f"  the gateway balances over {seen} api replica(s)")
        return _wrk(b, url, label)

    scaling = _scaling(b, " api replica(s)", measure, "rps", _rps)
    STACK.scale("api", 1)
    return {"quota_per_replica": SCALING_QUOTA, "quotas": quotas, **scaling}


def _probe(*args: str, timeout: float = 300) -> dict:
    """Run exports_probe.py in the api container with these arguments; return what it printed.

    Its answer is the last line: Django's JSON logs (axes says hello on start) go to stdout too.
    """
    output = STACK.exec("api", "python", "-c", PROBE.read_text(), *map(str, args), timeout=timeout)
    return json.loads(output.strip().splitlines()[-1])


def _export_batch(count: int, rate: float, *, pause: bool, while_building: Callable[[], None] | None = None) -> dict:
    """Queue `count` exports (workers paused first if asked), let the workers run, collect figures.
    `while_building` runs as soon as the workers may start (the isolation phase probes then)."""
    if pause:
        STACK.pause("worker")
    try:
        queued = _probe("enqueue", count, rate)
    finally:
        if pause:
            STACK.unpause("worker")
    with Usage(STACK) as usage:  # while the workers build the batch (the queueing is done)
        if while_building:
            while_building()
        rows = _probe("collect", queued["first"], queued["last"], 90, timeout=150)["rows"]
    if pause:
        STACK.wait_healthy("worker", timeout=40)
    figures = export_figures(rows)
    figures["host_busy_pct"] = usage.host_busy_pct
    if figures["done"]:
        figures["cpu_ms_per_export"] = {
            service: round(1000 * seconds / figures["done"], 2) for service, seconds in usage.cpu_by_service.items()
        }
    return figures


def worker_scaling(b: Bench) -> dict:
    """Items 4b and 6: exports per second with 1 and 2 workers; queue wait at half of capacity."""

    def measure(replicas: str, label: str) -> dict:
        STACK.scale("worker", int(replicas))
        # The api queues each batch (exports_probe.py) while the workers are paused: its own
        # quota only sets how long that takes, not the figure.
        STACK.set_cpus({"worker": SCALING_QUOTA, "api": API_QUOTAS["api"]})
        figures = _export_batch(b.plan.export_batch, 0, pause=True)
        b.say(
            f"{label}: {figures.get('exports_per_second')} exports/s "
            f"({figures['done']}/{figures['queued']} done), host {figures['host_busy_pct']} % busy"
        )
        return figures

    def per_second(rows: list[dict]) -> dict:
        return spread([r["exports_per_second"] for r in rows if r.get("exports_per_second")])

    scaling = _scaling(b, " worker(s)", measure, "exports_per_second", per_second)
    # Queue wait under a steady flow at half of what the two workers can do (still 2 workers).
    rate = round(0.5 * scaling["exports_per_second"]["2"].get("median", 10), 1)
    count = max(20, int(rate * 10))
    steady = _export_batch(count, rate, pause=False)
    wait = steady.get("queue_wait_ms", {})
    b.say(f"  steady {rate}/s for {count / rate:.0f} s: queue wait p50 {wait.get('p50')} ms, p99 {wait.get('p99')} ms")
    STACK.scale("worker", 1)
    return {
        "quota_per_worker": SCALING_QUOTA,
        "batch": b.plan.export_batch,
        **scaling,
        "steady": {"rate": rate, "workers": 2, **steady},
    }


def mixed(b: Bench) -> dict:
    """The decomposed stack saturated by the mixed journeys: the CPU each service spends per
    request (the cost phase, and `make capacity`'s web estimate). Item 5's comparison with the
    monolith at equal CPU is now the isolation phase (performance issue): the split stack does not
    serve more per CPU on one host (x0.78 in docs/performance.md), it keeps a flood from spreading."""
    STACK.set_cpus(DECOMPOSED_QUOTAS)
    settings = {"target": _url("gateway", ""), "rate": SATURATING_RATE, "mix": MIX}
    settings |= {"duration": b.plan.mixed_seconds, "users": b.plan.mixed_users}
    repeats = max(2, b.plan.repeats - 1)
    runs = [_openloop(b, f"  saturated {i + 1}/{repeats}", saturate=True, **settings) for i in range(repeats)]
    return {
        "quotas": DECOMPOSED_QUOTAS,
        "mix": MIX,
        "saturation": {"decomposed": runs},
        "throughput": {"decomposed": spread([r["throughput"] for r in runs if not r["discarded"]])},
    }


def cost(b: Bench) -> dict:
    """Item 7: CPU-seconds per request by service, and memory per replica at rest and under load."""
    runs = [r for r in b.done["mixed"]["saturation"]["decomposed"] if not r["discarded"]]
    per_request: dict[str, list[float]] = {}
    under_load: dict[str, int] = {}
    for r in runs:
        by_service = r["requests_by_service"]
        total = sum(by_service.values())
        # The gateway, PostgreSQL and Redis serve every request; exports enter through the api.
        served = {"gateway": total, "postgres": total, "redis": total, "worker": by_service.get("api", 0), **by_service}
        for service in ("gateway", "static", "web", "api", "worker", "postgres", "redis"):
            if served.get(service) and service in r["cpu_seconds"]:
                per_request.setdefault(service, []).append(1000 * r["cpu_seconds"][service] / served[service])
        for name, value in r["peak_memory"].items():
            under_load[name] = max(under_load.get(name, 0), value)
    memory = {}
    for name in sorted(set(b.memory_at_rest) | set(under_load)):
        service = name.split("-")[-2] if name.count("-") >= 2 else name
        memory[name] = {
            "service": service,
            "at_rest_mb": round(b.memory_at_rest.get(name, 0) / 2**20, 1),
            "under_load_mb": round(under_load.get(name, 0) / 2**20, 1),
            "limit_mb": MEMORY_LIMITS_MB.get(service),
        }
    return {
        "cpu_ms_per_request": {service: spread(values) for service, values in per_request.items()},
        "how": "cgroup cpuacct over the decomposed saturated mixed runs: a service's CPU divided by the "
        "requests it served (gateway, postgres, redis: all requests; worker: api requests)",
        "memory": memory,
        "memory_met": all(
            max(m["under_load_mb"], m["at_rest_mb"]) <= m["limit_mb"] for m in memory.values() if m["limit_mb"]
        ),
    }


def trials(b: Bench) -> dict:
    """Throughput and api CPU per request of the cached list under each of TRIALS: one replica
    recreated per trial, then wrk runs (recreating per run, to put the trials in turn, took 20 s a
    run and half of the old tuning and limits phases' 4.7 minutes)."""
    url, runs, repeats = _url("gateway"), {}, max(2, b.plan.repeats - 1)
    try:
        for trial, environment in TRIALS.items():
            # config.env's trial measures the replica as it runs (None: no recreate, 20 s saved)
            _api_ready(url, environment=environment or None)
            runs[trial] = [_wrk(b, url, f"  {trial} {i + 1}/{repeats}") for i in range(repeats)]
    finally:
        _recreate_api({})
    return trial_figures(runs)


def trial_figures(runs: dict[str, list[dict]]) -> dict:
    """The trials' req/s, api CPU per request and ratio to config.env's, from their wrk runs."""
    rps = {trial: _rps(rows) for trial, rows in runs.items()}
    return {
        "quotas": API_QUOTAS,
        "environment": TRIALS,
        "runs": runs,
        "rps": rps,
        "api_cpu_ms_per_request": {
            trial: _cpu_ms_per_request(rows).get("api", {"n": 0}) for trial, rows in runs.items()
        },
        "ratio_to_default": {trial: ratio(rps[trial], rps[DEFAULT_TRIAL]) for trial in runs},
    }


# Item 3 (performance issue): reads with votes at 10 % of requests. The api journey lists, reads
# a poll, votes and reads its results (1 vote in 4 requests); readers do the same without voting
# (3 requests), so two readers per voter make 1 vote in 10 requests.
VOTES_MIX = {"api": 1, "reader": 2}
CACHE_READS = re.compile(r'^polls_cache_reads_total\{(?=.*kind="(\w+)")(?=.*result="(\w+)").*\} (\S+)$', re.M)
VOTE_COST_SERVICES = ("api", "postgres", "redis")
CLEAR_VOTES = "DELETE FROM domain_vote; UPDATE domain_choice SET votes = 0;"


def _cache_reads() -> Counter:
    """polls_cache_reads_total summed over the api replicas: {(kind, result): count}."""
    counts: Counter = Counter()
    for replica in STACK.containers("api"):
        text = urllib.request.urlopen(f"http://{replica.ip}:8001/metrics", timeout=10).read().decode()
        for kind, result, value in CACHE_READS.findall(text):
            counts[(kind, result)] += float(value)
    return counts


def _votes_in_database() -> int:
    return int(STACK.sql("SELECT count(*) FROM domain_vote")[0][0])


def _hit_ratio(reads: Counter, kind: str) -> float | None:
    """Reads the cache answered (Redis, or the process's own copy of a list) over all reads."""
    hits = reads[(kind, "hit")] + reads[(kind, "local")]
    looked = hits + reads[(kind, "miss")]
    return round(hits / looked, 4) if looked else None


def _vote_ms(service: str, alone: dict, mixed: dict) -> float:
    """CPU ms per committed vote: what the mixed run used beyond the reads-only run beside it."""
    extra = mixed["cpu_seconds"].get(service, 0) - alone["cpu_seconds"].get(service, 0)
    return 1000 * extra / mixed["votes_committed"]


def votes(b: Bench) -> dict:
    """Item 3: API reads with votes at 10 % of requests, at half the capacity of that mix, beside
    the same reads without votes, in turn: the hit ratio of the cached lists and polls, the p99,
    and what a vote costs (the CPU the mixed run used beyond the reads-only run's, per committed
    vote, invalidations and rebuilt reads included).

    A voter lists the first pages of open polls, so five voters run out of polls they have not
    voted in within a run (a repeated vote is a 409 that writes nothing): the bench database's
    votes, counters with them, are cleared before every run.
    """
    STACK.set_cpus(API_QUOTAS)
    load = dict(target=_url("gateway", ""), duration=b.plan.votes_seconds, users=16)
    STACK.sql(CLEAR_VOTES, timeout=300)
    saturated = _openloop(b, "  capacity of the mix", rate=SATURATING_RATE, mix=VOTES_MIX, saturate=True, **load)
    rate = max(1.0, round(saturated["throughput"] * 0.5, 1))

    def measure(side: str, label: str) -> dict:
        STACK.sql(CLEAR_VOTES, timeout=300)
        reads, votes_before = _cache_reads(), _votes_in_database()
        mix = VOTES_MIX if side == "reads and votes" else {"reader": 1}
        row = _openloop(b, label, rate=rate, mix=mix, **load)
        reads = _cache_reads() - reads
        row["votes_committed"] = _votes_in_database() - votes_before
        row["hit_ratio"] = {kind: _hit_ratio(reads, kind) for kind in ("list", "poll")}
        return row

    runs = _in_turn(b.plan.repeats, ("reads only", "reads and votes"), measure)
    kept = [pair for pair in zip(runs["reads only"], runs["reads and votes"]) if not any(r["discarded"] for r in pair)]
    vote_ms = {
        service: spread([_vote_ms(service, *pair) for pair in kept if pair[1]["votes_committed"]])
        for service in VOTE_COST_SERVICES
    }
    mixed = [r for r in runs["reads and votes"] if not r["discarded"]]
    hit = {
        kind: spread([r["hit_ratio"][kind] for r in mixed if r["hit_ratio"][kind] is not None])
        for kind in ("list", "poll")
    }
    p99 = _latency_spreads(mixed, "p99")["p99"]
    return {
        "capacity_rps": saturated["throughput"],
        "rate": rate,
        "quotas": API_QUOTAS,
        "mix": VOTES_MIX,
        "runs": runs,
        "vote_share": spread([r["votes_committed"] / (r["ok"] + r["failed"]) for r in mixed if r["ok"]]),
        "hit_ratio": hit,
        "p99_ms": p99,
        "vote_cpu_ms": vote_ms,
        "target_hit_ratio": 0.95,
        "target_p99_ms": 50,
        "met": bool(hit["list"].get("n") and p99.get("n")) and hit["list"]["median"] >= 0.95 and p99["median"] <= 50,
    }


def _recreate_api(environment: dict[str, str]) -> None:
    """Recreate the one api replica with extra environment (a tuning trial), and wait until healthy."""
    with override_file({"api": {"environment": environment}}) as override:
        STACK.scale("api", 1, recreate=True, deps=False, extra_files=(override,))


def _api_ready(url: str, *, replicas: int = 1, quotas: dict = API_QUOTAS, environment: dict | None = None) -> int:
    """Scale the api (or recreate its one replica with `environment`), set `quotas`, and wait until
    the gateway balances over every replica; return how many distinct replicas answered url."""
    if environment is None:
        STACK.scale("api", replicas)
    else:
        _recreate_api(environment)
    STACK.set_cpus(quotas)
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while len(seen - {""}) < replicas and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                seen.add(answer.headers.get("X-Served-By", ""))
            time.sleep(0.2)
        except OSError:  # URLError, HTTPError: a 502 while the gateway re-resolves a new replica
            time.sleep(0.5)
    time.sleep(GATEWAY_RESOLVE_SECONDS)  # and a removed replica has left the gateway's list
    return len(seen - {""})
