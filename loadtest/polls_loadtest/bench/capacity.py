"""`make capacity TARGET_RPS=... P99_MS=...`: replicas per service and the PostgreSQL budget.

Reads the latest complete `make bench` report (else the committed reference.json beside this
file), fits the Universal Scalability Law to the measured per-replica throughputs (usl.py), and
prints how many replicas each service needs for a target request rate and how many PostgreSQL
connections they would open (budget.py); bench/README.md ("Capacity") says the rest.

Headroom: latency was measured at 50 % of one replica's capacity (bench item 3), so replicas are
planned at 50 % of the fitted capacity; when that p99 was over P99_MS no measured utilisation meets
it, and the plan says its counts are a lower bound. The request rate is split by the mixed
scenario's shares (--shares), since web and api serve different requests; exports are a fraction
of api requests (--exports-per-request).
"""

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from polls_loadtest import REPORTS, read_env
from polls_loadtest.bench.budget import POOLER_THRESHOLD, connection_budget
from polls_loadtest.bench.usl import fit
from polls_loadtest.stack.compose import REPO

LATEST = REPORTS / "bench-latest" / "bench.json"
REFERENCE = Path(__file__).with_name("reference.json")
# The scaling phases a plan fits, by service: (phase, its replicas' CPU quota, throughput by replicas).
SCALING = {
    "api": ("api_scaling", "quota_per_replica", "rps"),
    "worker": ("workers", "quota_per_worker", "exports_per_second"),
}
# What a plan reads from a bench report: the rest of a report (every run, the other phases) stays
# out of the committed reference.
PLANNED_FROM = {phase: keys for phase, *keys in SCALING.values()} | {
    "latency": ["latency_ms"],
    "cost": ["cpu_ms_per_request"],
}
CONFIG_ENV = REPO / "config.env"
HEADROOM = 0.5  # planned utilisation: the load at which bench item 3 measured latency
MAX_CONNECTIONS = 200  # PostgreSQL's, as docker-compose.yml and the k8s postgres set it (a test checks)


def parse_shares(text: str) -> dict[str, float]:
    pairs = (part.partition(":") for part in text.split(",") if part)
    return {name.strip(): float(value) for name, _, value in pairs}


def measured(bench: dict) -> tuple[dict[str, dict[int, float]], dict[str, float | None]]:
    """Return {service: {replicas: throughput}} from a bench report, and the CPU quota each
    service's replicas had when it was measured.

    The plan counts replicas of that size: a deployment that gives each replica more CPU needs
    fewer of them (roughly in proportion, as long as one replica is not the bottleneck).
    """
    points, sizes = {}, {}
    for service, (phase, quota, figure) in SCALING.items():
        figures = bench["phases"].get(phase, {})
        sizes[service], per_replicas = figures.get(quota), figures.get(figure, {})
        if per_replicas.get("1", {}).get("n"):
            points[service] = {int(n): s["median"] for n, s in per_replicas.items() if s.get("n")}
    return points, sizes | {"web": sizes["api"]}


def web_point(bench: dict, api_points: dict[int, float]) -> dict[int, float] | None:
    """Estimate one web replica's throughput from the mixed run: web and api CPU per request.

    The bench measures api scaling directly; web's per-request CPU comes from the cost figures,
    so web's capacity is api's scaled by the ratio of their CPU per request, with api's curve.
    """
    cost = bench["phases"].get("cost", {}).get("cpu_ms_per_request", {})
    web, api = cost.get("web", {}).get("median"), cost.get("api", {}).get("median")
    if not (web and api and api_points):
        return None
    return {n: x * api / web for n, x in api_points.items()}


def _fit_note(points: int, kappa: float) -> str:
    if points > 2:
        return f"least squares over {points} points"
    if kappa > 0:
        return "two points, two replicas slower than one: sigma 1, kappa from the drop"
    return "two points: kappa fixed at 0 (Amdahl), optimistic at large N"


@dataclass(frozen=True)
class Target:
    """What a plan is for: a request rate within a p99, its split between web and api (--shares),
    the exports per api request, and PostgreSQL's max_connections."""

    rps: float
    p99_ms: float
    shares: dict[str, float]
    exports_per_request: float
    max_connections: int


def plan(bench: dict, target: Target, env: dict[str, str]) -> dict:
    """Return the replicas per service and the connection budget for the target (env: config.env)."""
    points, sizes = measured(bench)
    if "api" in points and (web := web_point(bench, points["api"])):
        points["web"] = web
    latency = bench["phases"].get("latency", {}).get("latency_ms", {}).get("p99", {})
    measured_p99 = latency.get("median")
    latency_ok = measured_p99 is not None and measured_p99 <= target.p99_ms
    web, api = (target.rps * target.shares.get(service, 0) for service in ("web", "api"))
    demand = {"web": web, "api": api, "worker": api * target.exports_per_request}
    services = {}
    for service, rate in demand.items():
        if service not in points:
            services[service] = {"error": "no measured throughput in the bench report"}
            continue
        curve = fit(points[service])
        replicas = curve.replicas_for(rate / HEADROOM) if rate > 0 else 1
        services[service] = {
            "demand": round(rate, 2),
            "one_replica": round(curve.lam, 2),
            "ceiling": round(curve.ceiling, 2) if math.isfinite(curve.ceiling) else None,
            "practical_max": curve.practical_max() if math.isfinite(curve.ceiling) else None,
            "sigma": round(curve.sigma, 4),
            "kappa": round(curve.kappa, 6),
            "points": points[service],
            "replicas": replicas,
            "replica_cpu": sizes.get(service),
            "fit_note": _fit_note(len(points[service]), curve.kappa),
        }
    # An unreachable demand is budgeted at the practical maximum (90 % of the ceiling): the most
    # replicas that still add throughput, which is what someone would try to run.
    counts = {s: v.get("replicas") or v.get("practical_max") or 0 for s, v in services.items()}
    budget = connection_budget(
        counts,
        gunicorn_workers=int(env.get("GUNICORN_WORKERS", 2)),
        gunicorn_threads=int(env.get("GUNICORN_THREADS", 4)),
        pool_size=int(env.get("POSTGRES_POOL_SIZE", 2)),
        celery_concurrency=int(env.get("CELERY_WORKER_CONCURRENCY", 2)),
        max_connections=target.max_connections,
    )
    return {
        "target_rps": target.rps,
        "p99_ms": target.p99_ms,
        "headroom": HEADROOM,
        "measured_p99_at_headroom_ms": measured_p99,
        "latency_target_known_met": latency_ok,
        "services": services,
        "postgres": {
            **asdict(budget),
            "share": round(budget.share, 3),
            "needs_pooler": budget.needs_pooler,
            "over_limit": budget.over_limit,
        },
    }


def render(result: dict) -> str:
    load = f"{100 * result['headroom']:.0f} %"
    lines = [
        f"Capacity for {result['target_rps']:g} requests/s with p99 <= {result['p99_ms']:g} ms "
        f"(replicas planned at {load} of their fitted capacity):"
    ]
    if not result["latency_target_known_met"]:
        lines.append(
            f"  WARNING: the bench measured p99 {result['measured_p99_at_headroom_ms']} ms at {load} load, "
            f"above {result['p99_ms']:g} ms: no measured utilisation meets the latency target; these counts "
            "are a lower bound."
        )
    for service, s in result["services"].items():
        if "error" in s:
            lines.append(f"  {service:7s} {s['error']}")
            continue
        size = f" at {s['replica_cpu']:g} CPU" if s.get("replica_cpu") else ""
        curve = (
            f"one replica{size} {s['one_replica']:g}/s, sigma {s['sigma']}, kappa {s['kappa']}, "
            f"ceiling {s['ceiling'] if s['ceiling'] is not None else 'none'}/s; {s['fit_note']}"
        )
        if s["replicas"] is not None:
            lines.append(
                f"  {service:7s} {s['replicas']} replica(s){size}  (demand {s['demand']:g}/s at {load}; {curve})"
            )
        else:
            lines.append(
                f"  {service:7s} UNREACHABLE: {s['demand']:g}/s at {load} "
                f"needs {s['demand'] / result['headroom']:g}/s, above the fitted ceiling; "
                f"budgeted at {s['practical_max']} replica(s) (90 % of it). Remove the shared "
                f"bottleneck (sigma) first. ({curve})"
            )
    pg = result["postgres"]
    parts = " + ".join(f"{k} {v}" for k, v in pg["by_service"].items())
    lines.append(
        f"PostgreSQL connections: {parts} = {pg['total']} of {pg['usable']} usable "
        f"(max_connections {pg['max_connections']} minus reserved), {100 * pg['share']:.0f} %."
    )
    if pg["over_limit"]:
        lines.append(
            "  WARNING: over max_connections: lower POSTGRES_POOL_SIZE, put a pooler (PgBouncer, "
            "transaction mode) in front of PostgreSQL, or raise max_connections."
        )
    elif pg["needs_pooler"]:
        lines.append(
            f"  WARNING: above {100 * POOLER_THRESHOLD:.0f} % of the limit: lower POSTGRES_POOL_SIZE "
            "or put a pooler (PgBouncer, transaction mode) in front of PostgreSQL before the next scale-out."
        )
    return "\n".join(lines)


def reference_of(bench: dict) -> dict:
    """Return what a plan needs of a complete bench report, with where and when it was measured."""
    missing = [name for name in PLANNED_FROM if name not in bench["phases"]]
    if missing or "error" in bench:
        raise ValueError(f"not a complete bench run (missing {', '.join(missing) or 'nothing'}; {bench.get('error')})")
    return {
        **{key: bench.get(key) for key in ("schema", "started_at", "commit", "machine", "versions", "seconds")},
        "phases": {
            name: {key: bench["phases"][name][key] for key in keys if key in bench["phases"][name]}
            for name, keys in PLANNED_FROM.items()
        },
    }


def measured_on(bench: dict) -> str:
    """Return one line naming the run a plan comes from: when, which commit, which machine."""
    m = bench.get("machine") or {}
    return (
        f"{bench.get('started_at', 'an unknown time')}, commit {bench.get('commit', 'unknown')}, "
        f"{m.get('cores', '?')} cores ({m.get('cpu_model', 'unknown CPU')}), load average {m.get('load_average')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polls_loadtest.bench.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target-rps", type=float)
    parser.add_argument("--p99-ms", type=float, default=50)
    parser.add_argument(
        "--bench", type=Path, default=None, help="a bench.json (default: the latest, else the committed reference)"
    )
    parser.add_argument(
        "--save-reference", action="store_true", help=f"write {REFERENCE.name} from the latest complete run"
    )
    parser.add_argument(
        "--shares",
        default="web:0.6,api:0.4",
        help="share of requests each service serves (the default is the mixed scenario's)",
    )
    parser.add_argument("--exports-per-request", type=float, default=0.01, help="exports started per api request")
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS, help="PostgreSQL's max_connections")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.save_reference:
        if not LATEST.exists():
            print(f"No complete benchmark run at {LATEST}: run `make bench` first.", file=sys.stderr)
            return 2
        reference = reference_of(json.loads(LATEST.read_text()))
        REFERENCE.write_text(json.dumps(reference, indent=1) + "\n")
        print(f"{REFERENCE}: the run of {measured_on(reference)}")
        return 0
    if args.target_rps is None:
        parser.error("--target-rps is required")
    source = args.bench or (LATEST if LATEST.exists() else REFERENCE)
    if not source.exists():
        print(f"No benchmark report at {source}: run `make bench` first.", file=sys.stderr)
        return 2
    bench = json.loads(source.read_text())
    if source == REFERENCE:
        # stderr: --json keeps stdout parseable.
        print(
            f"No `make bench` run here yet: planning from the committed reference run ({measured_on(bench)}). "
            "Figures from another machine: run `make bench` to plan from this one.",
            file=sys.stderr,
        )
    shares = parse_shares(args.shares)
    target = Target(args.target_rps, args.p99_ms, shares, args.exports_per_request, args.max_connections)
    result = plan(bench, target, read_env(CONFIG_ENV))
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
