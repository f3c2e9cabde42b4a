"""The measurements of `make bench`, one function per item of the report.

Each phase sets the CPU quotas it states (recorded in its result), repeats each measurement
`repeats` times interleaving the two sides of a comparison (so drift on a shared machine hits both
alike), and returns plain dicts for the JSON report. Load goes only to the project's containers.
"""

import json
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from polls_loadtest.bench import STACK, wrk
from polls_loadtest.bench.celery_figures import export_figures
from polls_loadtest.bench.stats import ratio, spread
from polls_loadtest.load.openloop import LoadSettings, OpenLoopRun
from polls_loadtest.load.scenarios import SCENARIOS, Request, Scenario
from polls_loadtest.stack import docker
from polls_loadtest.stack.usage import Usage

CLIENT_CPU_LIMIT_PCT = 100 * wrk.CLIENT_CPU_LIMIT
PROBE = Path(__file__).with_name("exports_probe.py")

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
# The mixed scenario: 1.2 cores of serving on each side, and the same worker behind both. The
# decomposed split follows measured demand (item 7): the gateway used about 0.04 of a core and
# static under 0.01 at saturation, web and api the rest in about a 55:45 ratio.
DECOMPOSED_QUOTAS = {"gateway": 0.1, "static": 0.05, "web": 0.6, "api": 0.45, "worker": 0.3}
MONOLITH_QUOTAS = {"monolith": 1.2, "worker": 0.3}
MIX = {"browse": 6, "api": 3, "export": 1}
# Offered rate of the saturated mixed runs: well above what either side answers at 1.5 CPU.
SATURATING_RATE = 600


@dataclass(frozen=True)
class Plan:
    repeats: int = 3
    wrk_seconds: float = 5
    wrk_connections: int = 16
    latency_seconds: float = 15
    mixed_seconds: float = 12
    mixed_users: int = 12
    export_batch: int = 600  # long enough (about 7 s for one worker) that starting the workers is noise


Say = Callable[[str], None]


def _wrk(url: str, plan: Plan, say: Say, label: str) -> dict:
    with Usage(STACK) as usage:
        result = wrk.run(url, seconds=plan.wrk_seconds, connections=plan.wrk_connections)
    row = {**result.as_dict(), "cpu_seconds": usage.cpu_by_service, "host_busy_pct": usage.host_busy_pct}
    note = " DISCARDED: wrk used over 70 % of a core" if result.discarded else ""
    say(
        f"{label}: {result.rps:8.1f} req/s  p99 {result.latency_ms['p99']:.1f} ms  "
        f"wrk CPU {100 * result.client_cpu:.0f} %, host {usage.host_busy_pct} % busy{note}"
    )
    return row


def _kept(rows: list[dict]) -> list[float]:
    return [r["rps"] for r in rows if not r["discarded"] and not r["errors"]]


def _ab(name_a: str, url_a: str, name_b: str, url_b: str, plan: Plan, say: Say, *, target: float) -> dict:
    """Measure a and b in turn; the ratio of a to b meets `target` when it is at least that."""
    runs: dict[str, list[dict]] = {name_a: [], name_b: []}
    for i in range(plan.repeats):
        for name, url in ((name_a, url_a), (name_b, url_b)):
            runs[name].append(_wrk(url, plan, say, f"  {name} {i + 1}/{plan.repeats}"))
    rps = {name: spread(_kept(rows)) for name, rows in runs.items()}
    discarded = {name: sum(r["discarded"] for r in rows) for name, rows in runs.items()}
    result = ratio(rps[name_a], rps[name_b])
    met = result is not None and result >= target
    return {"runs": runs, "rps": rps, "discarded": discarded, "ratio": result, "target": target, "met": met}


def static_vs_django(plan: Plan, say: Say) -> dict:
    """Item 1: one hashed stylesheet from the static service and from Django (the monolith)."""
    STACK.set_cpus(STATIC_QUOTAS)
    monolith = STACK.one("monolith")
    manifest = json.loads(STACK.exec("monolith", "cat", "/app/staticfiles/staticfiles.json"))
    asset = "/static/" + manifest["paths"]["web/site.css"]
    result = _ab(
        "static service",
        f"http://{STACK.one('static').ip}:8080{asset}",
        "django (one gunicorn)",
        f"http://{monolith.ip}:8000{asset}",
        plan,
        say,
        target=10.0,
    )
    return {"asset": asset, "quotas": STATIC_QUOTAS, **result}


def gateway_vs_direct(plan: Plan, say: Say) -> dict:
    """Item 2: GET /api/polls/ through the gateway and straight to the one api replica."""
    STACK.scale("api", 1)
    STACK.set_cpus(API_QUOTAS)
    path = "/api/polls/"
    result = _ab(
        "through gateway",
        f"http://{STACK.one('gateway').ip}:8080{path}",
        "direct to api",
        f"http://{STACK.one('api').ip}:8001{path}",
        plan,
        say,
        target=0.85,
    )
    return {"path": path, "quotas": API_QUOTAS, **result}


# Services whose CPU each floor-phase request is charged with (ms per request, from cgroups).
COST_SERVICES = ("floor", "floor-gateway", "api", "web", "gateway", "redis", "postgres")
FLOOR = "floor, direct"


def floor(plan: Plan, say: Say) -> dict:
    """The floor and what each read costs above it.

    A bare Django JSON view (config.settings.floor) direct and through a gateway, then the cached
    API list, one poll, its results and the web home page (through the gateway; the list direct
    too), in turn per repeat. Each figure is a ratio to the floor served directly, with the CPU
    per request of every service it touched.
    """
    STACK.set_cpus(FLOOR_QUOTAS)
    for service in ("api", "web"):
        STACK.scale(service, 1)
    gateway, api = STACK.one("gateway").ip, STACK.one("api").ip
    poll = json.loads(urllib.request.urlopen(f"http://{api}:8001/api/polls/", timeout=10).read())["results"][0]["id"]
    targets = {
        FLOOR: f"http://{STACK.one('floor').ip}:8001/api/polls/",
        "floor, through a gateway": f"http://{STACK.one('floor-gateway').ip}:8080/api/polls/",
        "API list, direct": f"http://{api}:8001/api/polls/",
        "API list": f"http://{gateway}:8080/api/polls/",
        "API poll": f"http://{gateway}:8080/api/polls/{poll}/",
        "API results": f"http://{gateway}:8080/api/polls/{poll}/results/",
        "web home page": f"http://{gateway}:8080/",
    }
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for i in range(plan.repeats):
        for name, url in targets.items():
            runs[name].append(_wrk(url, plan, say, f"  {name} {i + 1}/{plan.repeats}"))
    rps = {name: spread(_kept(rows)) for name, rows in runs.items()}
    cpu_ms = {name: _cpu_ms_per_request(rows) for name, rows in runs.items()}
    return {
        "quotas": FLOOR_QUOTAS,
        "runs": runs,
        "rps": rps,
        "ratio_to_floor": {name: ratio(rps[name], rps[FLOOR]) for name in targets},
        "cpu_ms_per_request": cpu_ms,
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


def _api_read(visitor) -> object:
    """One anonymous GET of the poll list: the read the latency target is about."""
    yield Request("GET", "/api/polls/", "api: poll list")


# LoadSettings accepts only the names of SCENARIOS in its mix, so this journey is filed as "api".
API_READ = {"api": Scenario("api", _api_read)}


def _openloop(
    target: str,
    *,
    rate: float,
    seconds: float,
    users: int,
    mix: dict,
    scenarios=SCENARIOS,
    say: Say,
    label: str,
    saturate: bool = False,
) -> dict:
    """Run the open-loop client; account CPU only over the schedule (not the sign-ins).

    saturate: the rate is above capacity, so every user is busy all the time and the client
    works as a closed loop of `users` connections; what counts is the answers completed during
    the schedule. The request timeout is then longer than the run, so none of those is a
    client-side timeout, and the backlog left at the end is dropped after 2 s.
    """
    timeout, drain = (seconds + 20, 2) if saturate else (5, 5)
    run = OpenLoopRun(
        LoadSettings(target=target, rate=rate, duration=seconds, users=users, mix=mix, timeout=timeout, drain=drain),
        scenarios=scenarios,
    )
    run.start()
    deadline = time.monotonic() + 120
    while run.elapsed <= 0 and run._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)  # the users are signing in
    with Usage(STACK) as usage:
        results = run.wait()
    per_second = results["per_second"]
    # Throughput is what was answered as expected: a fast error is not capacity.
    succeeded = sum(c for t, c in zip(per_second["t"], per_second["succeeded"]) if t < seconds)
    summary, client = results["summary"], results["client"]
    by_service: dict[str, int] = {}
    for name, tally in results["by_request"].items():
        service = name.split(":")[0]
        by_service[service] = by_service.get(service, 0) + tally["ok"] + tally["failed"]
    row = {
        "rate": rate,
        "seconds": seconds,
        "users": users,
        "throughput": round(succeeded / seconds, 1),
        "ok": summary["ok"],
        "failed": summary["failed"],
        "latency_ms": summary["latency_ms"],
        "service_time_ms": summary["service_time_ms"],
        "requests_by_service": by_service,
        "client_cpu_pct": client["cpu_percent_of_one_core"],
        "discarded": client["cpu_percent_of_one_core"] > CLIENT_CPU_LIMIT_PCT,
        "cpu_seconds": usage.cpu_by_service,
        "host_busy_pct": usage.host_busy_pct,
        "peak_memory": usage.peak_memory,
    }
    lat = summary["latency_ms"]
    note = " DISCARDED: client used over 70 % of a core" if row["discarded"] else ""
    say(
        f"{label}: {row['throughput']:7.1f} req/s done at {rate:g}/s offered, p50 {lat.get('p50', 0):.1f} "
        f"p99 {lat.get('p99', 0):.1f} ms, failed {summary['failed']}, "
        f"client CPU {client['cpu_percent_of_one_core']:.0f} %{note}"
    )
    return row


def read_latency(plan: Plan, say: Say, capacity: float) -> dict:
    """Item 3: open-loop GET /api/polls/ through the gateway at 50 % of the measured capacity."""
    STACK.set_cpus(API_QUOTAS)
    rate = max(1.0, round(capacity * 0.5, 1))
    target = f"http://{STACK.one('gateway').ip}:8080"
    runs = [
        _openloop(
            target,
            rate=rate,
            seconds=plan.latency_seconds,
            users=16,
            mix={"api": 1},
            scenarios=API_READ,
            say=say,
            label=f"  open loop {i + 1}/{plan.repeats}",
        )
        for i in range(plan.repeats)
    ]
    kept = [r for r in runs if not r["discarded"]]
    figures = {p: spread([r["latency_ms"][p] for r in kept if p in r["latency_ms"]]) for p in ("p50", "p99", "p99_9")}
    return {
        "capacity_rps": capacity,
        "rate": rate,
        "quotas": API_QUOTAS,
        "runs": runs,
        "latency_ms": figures,
        "discarded": len(runs) - len(kept),
        "target_p99_ms": 50,
        "met": bool(figures["p99"].get("n")) and figures["p99"]["median"] <= 50,
    }


def api_scaling(plan: Plan, say: Say) -> dict:
    """Item 4a: api throughput through the gateway with 1 and 2 replicas, each at the same quota.

    One and two replicas alternate within each repeat, so drift on a shared host hits both alike.
    """
    url = f"http://{STACK.one('gateway').ip}:8080/api/polls/"
    runs: dict[str, list[dict]] = {"1": [], "2": []}
    for i in range(plan.repeats):
        for replicas in (1, 2):
            _scale_api(url, replicas, say)
            runs[str(replicas)].append(_wrk(url, plan, say, f"  {replicas} api replica(s) {i + 1}/{plan.repeats}"))
    STACK.scale("api", 1)
    rps = {n: spread(_kept(rows)) for n, rows in runs.items()}
    eff = round(rps["2"]["median"] / (2 * rps["1"]["median"]), 3) if rps["2"].get("n") and rps["1"].get("n") else None
    return {
        "quota_per_replica": SCALING_QUOTA,
        "quotas": {"api": SCALING_QUOTA, "gateway": API_QUOTAS["gateway"]},
        "rps": rps,
        "runs": runs,
        "host_busy_pct": _host_busy(runs),
        "efficiency": eff,
        "target": 0.8,
        "met": eff is not None and eff >= 0.8,
    }


def _scale_api(url: str, replicas: int, say: Say) -> None:
    STACK.scale("api", replicas)
    STACK.set_cpus({"api": SCALING_QUOTA, "gateway": API_QUOTAS["gateway"]})
    seen = _wait_for_replicas(url, replicas)
    time.sleep(6)  # the gateway re-resolves names every 5 s: a removed replica leaves its list
    say(f"  the gateway balances over {seen} api replica(s)")


def _host_busy(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """How busy the host was in each side's runs (percent of all cores)."""
    return {
        n: spread([r["host_busy_pct"] for r in rows if r.get("host_busy_pct") is not None]) for n, rows in runs.items()
    }


def _export_batch(count: int, rate: float, *, pause: bool) -> dict:
    """Queue `count` exports (workers paused first if asked), let the workers run, collect figures."""
    workers = STACK.containers("worker")
    code = PROBE.read_text()
    if pause:
        for w in workers:
            docker("pause", w.id)
    try:
        queued = json.loads(STACK.exec("api", "python", "-c", code, "enqueue", str(count), str(rate)))
    finally:
        if pause:
            for w in workers:
                docker("unpause", w.id)
    with Usage(STACK) as usage:  # while the workers build the batch (the queueing is done)
        rows = json.loads(
            STACK.exec(
                "api", "python", "-c", code, "collect", str(queued["first"]), str(queued["last"]), "90", timeout=150
            )
        )["rows"]
    if pause:
        STACK.wait_healthy("worker", timeout=40)
    figures = export_figures(rows)
    figures["host_busy_pct"] = usage.host_busy_pct
    if figures["done"]:
        figures["cpu_ms_per_export"] = {
            service: round(1000 * seconds / figures["done"], 2) for service, seconds in usage.cpu_by_service.items()
        }
    return figures


def worker_scaling(plan: Plan, say: Say) -> dict:
    """Items 4b and 6: exports per second with 1 and 2 workers; queue wait at half of capacity.

    One and two workers alternate within each repeat, so drift on a shared host hits both alike.
    """
    result: dict = {"quota_per_worker": SCALING_QUOTA, "batch": plan.export_batch, "runs": {"1": [], "2": []}}
    for i in range(max(2, plan.repeats - 1)):
        for replicas in (1, 2):
            STACK.scale("worker", replicas)
            # The api queues each batch (exports_probe.py) while the workers are paused: its own
            # quota only sets how long that takes, not the figure.
            STACK.set_cpus({"worker": SCALING_QUOTA, "api": API_QUOTAS["api"]})
            figures = _export_batch(plan.export_batch, 0, pause=True)
            result["runs"][str(replicas)].append(figures)
            say(
                f"  {replicas} worker(s) {i + 1}: {figures.get('exports_per_second')} exports/s "
                f"({figures['done']}/{figures['queued']} done), host {figures['host_busy_pct']} % busy"
            )
    per_second = {
        n: spread([r["exports_per_second"] for r in runs if r.get("exports_per_second")])
        for n, runs in result["runs"].items()
    }
    result["exports_per_second"] = per_second
    result["host_busy_pct"] = _host_busy(result["runs"])
    eff = (
        round(per_second["2"]["median"] / (2 * per_second["1"]["median"]), 3)
        if per_second["1"].get("n") and per_second["2"].get("n")
        else None
    )
    result.update(efficiency=eff, target=0.8, met=eff is not None and eff >= 0.8)
    # Queue wait under a steady flow at half of what the two workers can do (still 2 workers).
    rate = round(0.5 * per_second["2"].get("median", 10), 1)
    count = max(20, int(rate * 10))
    paced = _export_batch(count, rate, pause=False)
    say(
        f"  steady {rate}/s for {count / rate:.0f} s: queue wait p50 {paced.get('queue_wait_ms', {}).get('p50')} ms, "
        f"p99 {paced.get('queue_wait_ms', {}).get('p99')} ms"
    )
    result["steady"] = {"rate": rate, "workers": 2, **paced}
    STACK.scale("worker", 1)
    return result


def _each_side_in_turn(
    sides: dict, plan: Plan, say: Say, *, rate: float, label: str, saturate: bool = False
) -> dict[str, list[dict]]:
    """Run the mixed journeys against each side under its quotas, alternating sides per repeat."""
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for i in range(max(2, plan.repeats - 1)):
        for name, (target, quotas) in sides.items():
            STACK.set_cpus(quotas)
            runs[name].append(
                _openloop(
                    target,
                    rate=rate,
                    seconds=plan.mixed_seconds,
                    users=plan.mixed_users,
                    mix=MIX,
                    say=say,
                    label=f"  {name} {label} {i + 1}",
                    saturate=saturate,
                )
            )
    return runs


def mixed(plan: Plan, say: Say) -> dict:
    """Item 5: the decomposed stack and the monolith, mixed journeys, equal total CPU."""
    sides = {
        "decomposed": (f"http://{STACK.one('gateway').ip}:8080", DECOMPOSED_QUOTAS),
        "monolith": (f"http://{STACK.one('monolith').ip}:8000", MONOLITH_QUOTAS),
    }
    saturation = _each_side_in_turn(sides, plan, say, rate=SATURATING_RATE, label="saturated", saturate=True)
    throughput = {
        name: spread([r["throughput"] for r in runs if not r["discarded"]]) for name, runs in saturation.items()
    }
    common_rate = round(0.5 * throughput["monolith"].get("median", 20), 1)
    at_rate = _each_side_in_turn(sides, plan, say, rate=common_rate, label=f"at {common_rate}/s")
    p99 = {
        name: spread([r["latency_ms"]["p99"] for r in runs if not r["discarded"] and "p99" in r["latency_ms"]])
        for name, runs in at_rate.items()
    }
    speedup = ratio(throughput["decomposed"], throughput["monolith"])
    no_worse = bool(
        p99["decomposed"].get("n")
        and p99["monolith"].get("n")
        and p99["decomposed"]["median"] <= p99["monolith"]["median"]
    )
    return {
        "quotas": {name: quotas for name, (_, quotas) in sides.items()},
        "mix": MIX,
        "saturation": saturation,
        "throughput": throughput,
        "common_rate": common_rate,
        "at_common_rate": at_rate,
        "p99_ms": p99,
        "ratio": speedup,
        "p99_no_worse": no_worse,
        "target": 1.3,
        "met": speedup is not None and speedup >= 1.3 and no_worse,
    }


SERVICES = ("gateway", "static", "web", "api", "worker", "postgres", "redis", "monolith")


def cost(mixed_result: dict, memory_at_rest: dict[str, int]) -> dict:
    """Item 7: CPU-seconds per request by service, and memory per replica at rest and under load."""
    runs = [r for r in mixed_result["saturation"]["decomposed"] if not r["discarded"]]
    per_request: dict[str, list[float]] = {}
    for r in runs:
        total = sum(r["requests_by_service"].values())
        served = {
            "gateway": total,
            "postgres": total,
            "redis": total,
            "worker": r["requests_by_service"].get("api", 0),
        }  # exports enter through api
        for service in ("gateway", "static", "web", "api", "worker", "postgres", "redis"):
            count = r["requests_by_service"].get(service, served.get(service, 0))
            if count and service in r["cpu_seconds"]:
                per_request.setdefault(service, []).append(1000 * r["cpu_seconds"][service] / count)
    cpu_ms = {service: spread(values) for service, values in per_request.items()}
    under_load: dict[str, int] = {}
    for r in runs:
        for name, value in r["peak_memory"].items():
            under_load[name] = max(under_load.get(name, 0), value)
    limits = {"web": 250, "api": 250, "gateway": 30, "static": 30}
    memory = {}
    for name in sorted(set(memory_at_rest) | set(under_load)):
        service = name.split("-")[-2] if name.count("-") >= 2 else name
        memory[name] = {
            "service": service,
            "at_rest_mb": round(memory_at_rest.get(name, 0) / 2**20, 1),
            "under_load_mb": round(under_load.get(name, 0) / 2**20, 1),
            "limit_mb": limits.get(service),
        }
    met = all(
        m["under_load_mb"] <= m["limit_mb"] and m["at_rest_mb"] <= m["limit_mb"]
        for m in memory.values()
        if m["limit_mb"]
    )
    return {
        "cpu_ms_per_request": cpu_ms,
        "how": "cgroup cpuacct over the decomposed saturated mixed runs: a service's CPU divided by the "
        "requests it served (gateway, postgres, redis: all requests; worker: api requests)",
        "memory": memory,
        "memory_met": met,
    }


# Tuning trials on the api at its bench quota: what each gunicorn setting buys (config.env holds
# the deployed values; a trial only recreates the bench's api replica with other ones).
TRIALS = (
    ("2 workers x 4 threads (config.env)", {}),
    ("1 worker x 8 threads", {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "8"}),
    ("1 worker x 4 threads", {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4"}),
)


def tuning(plan: Plan, say: Say, capacity: float) -> dict:
    """Throughput and open-loop p99 of the api (0.5 CPU) under each gunicorn setting."""
    rate = max(1.0, round(capacity * 0.5, 1))
    trials = []
    try:
        for label, environment in TRIALS:
            _recreate("api", environment)
            STACK.set_cpus(API_QUOTAS)
            gateway = STACK.one("gateway")
            url = f"http://{gateway.ip}:8080/api/polls/"
            _wait_for_replicas(url, 1)
            time.sleep(6)  # the gateway re-resolves names every 5 s (resolver valid=5s)
            say(f"  trial: api with {label}")
            runs = [
                _wrk(url, plan, say, f"    wrk {i + 1}/{plan.repeats - 1 or 1}")
                for i in range(max(1, plan.repeats - 1))
            ]
            latency = _openloop(
                f"http://{gateway.ip}:8080",
                rate=rate,
                seconds=plan.latency_seconds,
                users=16,
                mix={"api": 1},
                scenarios=API_READ,
                say=say,
                label=f"    open loop at {rate}/s",
            )
            trials.append(
                {
                    "setting": label,
                    "environment": environment,
                    "rps": spread(_kept(runs)),
                    "runs": runs,
                    "latency_at_rate": latency,
                }
            )
    finally:
        _recreate("api", {})
    return {"quotas": API_QUOTAS, "rate": rate, "trials": trials}


# What the API throttles cost (issue 10: the limits must not undo the per-request savings). The
# cached poll list through the gateway, anonymous, with the anon and user throttles counting in
# Redis at the load stacks' rates (which never trip, so every request pays for the count) and
# with them off ("none"), in turn. The login lockouts (django-axes) touch only login requests.
LIMIT_TRIALS = (
    ("throttles counting", {}),
    ("throttles off", {"API_THROTTLE_ANON": "none", "API_THROTTLE_USER": "none"}),
)


def limits(plan: Plan, say: Say) -> dict:
    """Throughput and api CPU per request of the cached list with the API throttles on and off."""
    runs: dict[str, list[dict]] = {label: [] for label, _ in LIMIT_TRIALS}
    try:
        for i in range(plan.repeats):
            for label, environment in LIMIT_TRIALS:
                _recreate("api", environment)
                STACK.set_cpus(API_QUOTAS)
                url = f"http://{STACK.one('gateway').ip}:8080/api/polls/"
                _wait_for_replicas(url, 1)
                time.sleep(6)  # the gateway re-resolves names every 5 s (resolver valid=5s)
                runs[label].append(_wrk(url, plan, say, f"  {label} {i + 1}/{plan.repeats}"))
    finally:
        _recreate("api", {})
    rps = {label: spread(_kept(rows)) for label, rows in runs.items()}
    cpu_ms = {label: _cpu_ms_per_request(rows).get("api", {"n": 0}) for label, rows in runs.items()}
    on, off = (label for label, _ in LIMIT_TRIALS)
    return {
        "quotas": API_QUOTAS,
        "runs": runs,
        "rps": rps,
        "api_cpu_ms_per_request": cpu_ms,
        "ratio": ratio(rps[on], rps[off]),
    }


def _recreate(service: str, environment: dict[str, str]) -> None:
    """Recreate one replica of a service with extra environment (a tuning trial), and wait."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="polls-bench-tune-") as override:
        yaml.safe_dump({"services": {service: {"environment": environment}}}, override)
        override.flush()
        STACK.compose(
            "up",
            "--detach",
            "--wait",
            "--force-recreate",
            "--no-deps",
            "--scale",
            f"{service}=1",
            service,
            extra_files=(override.name,),
        )


def _wait_for_replicas(url: str, replicas: int, *, timeout: float = 30) -> int:
    """Wait until answers from url (through the gateway) name `replicas` distinct replicas."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                seen.add(answer.headers.get("X-Served-By", ""))
        except OSError:  # URLError, HTTPError: a 502 while the gateway re-resolves a new replica
            time.sleep(0.5)
            continue
        if len(seen - {""}) >= replicas:
            break
        time.sleep(0.2)
    return len(seen - {""})
