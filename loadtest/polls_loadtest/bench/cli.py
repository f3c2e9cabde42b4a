"""`make bench`: every figure of the report from one run of the benchmark stack, side by side.

    python -m polls_loadtest.bench [--repeats 3] [--quick] [--only static,gateway,...] [--keep] [--no-build]

Starts the compose project polls-bench (STACK_BENCH_* in loadtest/compose/stacks.mk), seeds it, runs
the phases in order with a line of progress per run, writes bench.json and bench.md to
loadtest/reports/bench-<timestamp>/ (a complete run also to loadtest/reports/bench-latest/, which
`make capacity` reads), then removes the project unless --keep or a phase failed. Bounded: every run has a fixed
length; the whole took 9 minutes on a busy 2-core machine with the defaults (--quick: about 5).
"""

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from polls_loadtest import REPORTS
from polls_loadtest.bench import STACK, machine, phases, report, wrk
from polls_loadtest.stack.usage import memory_now

PHASES = ("floor", "static", "gateway", "latency", "api_scaling", "workers", "mixed", "tuning", "limits")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polls_loadtest.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement (spread)")
    parser.add_argument("--quick", action="store_true", help="2 repeats, shorter runs (a smoke test)")
    parser.add_argument("--only", default=",".join(PHASES), help=f"phases to run: {','.join(PHASES)}")
    parser.add_argument(
        "--keep", action="store_true", help="leave the polls-bench stack running (a failed run always does)"
    )
    parser.add_argument("--no-build", action="store_true", help="do not rebuild the images")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    plan = (
        phases.Plan(repeats=2, wrk_seconds=3, latency_seconds=10, mixed_seconds=8, export_batch=80)
        if args.quick
        else phases.Plan(repeats=args.repeats)
    )
    only = [p for p in args.only.split(",") if p]
    wanted = set(only)
    for name in ("latency", "tuning"):  # both build on the gateway phase's capacity
        if name in wanted:
            wanted.add("gateway")
    if "mixed" in wanted:
        wanted.add("cost")
    began = time.monotonic()

    def say(text: str) -> None:
        elapsed = int(time.monotonic() - began)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", flush=True)

    wrk.ensure_wrk()
    result: dict = {
        "schema": 1,
        "tool": "polls_loadtest.bench",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.machine(),
        "plan": plan.__dict__,
        "phases": {},
    }
    say(
        f"machine: {result['machine']['cores']} cores, {result['machine']['cpu_model']}, "
        f"load average {result['machine']['load_average']}"
    )
    say("starting the polls-bench stack (docker compose up --build --wait) ...")
    STACK.up("--scale", "api=1", "--scale", "web=1", "--scale", "worker=1", build=not args.no_build)
    try:
        _run_phases(result, plan, wanted, say)
    except Exception as error:  # keep the figures measured so far: the report says where it stopped
        result["error"] = f"{type(error).__name__}: {error}"
        say(f"stopped by an error: {result['error']}")
    finally:
        # A failed run keeps its stack, to look at what went wrong.
        if args.keep or "error" in result:
            say(
                f"kept the {STACK.project} stack: docker compose -p {STACK.project} ps (or logs SERVICE);"
                " remove it with `make bench-down`"
            )
        else:
            say(f"removing the {STACK.project} stack")
            STACK.down()
    result["seconds"] = round(time.monotonic() - began, 1)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    cores = result["machine"]["cores"] or 1
    peak_load = max(result["machine"]["load_average"][0], result["load_after"][0])
    if peak_load > cores:
        result["busy"] = f"load average {peak_load} on {cores} cores"
    result["discarded_runs"] = _count_discarded(result["phases"])
    folder = args.out or REPORTS / f"bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    report.write(result, folder)
    # Only a complete run becomes the one `make capacity` reads.
    latest = REPORTS / "bench-latest"
    complete = set(only) >= set(PHASES) and "error" not in result
    if complete and folder.resolve() != latest.resolve():
        shutil.rmtree(latest, ignore_errors=True)
        shutil.copytree(folder, latest)
    print()
    print(report.markdown(result))
    say(f"report: {folder}/bench.md and bench.json" + (f" (also {latest})" if complete else ""))
    return 1 if "error" in result else 0


def _run_phases(result: dict, plan: phases.Plan, wanted: set[str], say) -> None:
    """Seed the stack, record the versions, and run the wanted phases into result["phases"]."""
    STACK.seed("--users", "50")
    result["versions"] = machine.versions()
    time.sleep(3)
    memory_at_rest = memory_now(STACK)
    p = result["phases"]
    if "floor" in wanted:
        say("floor: a bare Django view, direct and through a gateway, and each read against it")
        p["floor"] = phases.floor(plan, say)
    if "static" in wanted:
        say("1. static service vs Django serving the same file")
        p["static"] = phases.static_vs_django(plan, say)
    if "gateway" in wanted:
        say("2. API poll list through the gateway vs straight to the api replica")
        p["gateway"] = phases.gateway_vs_direct(plan, say)
    capacity = p.get("gateway", {}).get("rps", {}).get("through gateway", {})
    if "latency" in wanted and capacity.get("n"):
        say("3. API read latency, open loop, at 50 % of the capacity just measured")
        p["latency"] = phases.read_latency(plan, say, capacity["median"])
    if "api_scaling" in wanted:
        say(f"4. api scaling: 1 and 2 replicas at {phases.SCALING_QUOTA} CPU each, in turn")
        p["api_scaling"] = phases.api_scaling(plan, say)
    if "tuning" in wanted and capacity.get("n"):
        say("tuning: the api's gunicorn workers and threads at its 0.5 CPU quota")
        p["tuning"] = phases.tuning(plan, say, capacity["median"])
    if "limits" in wanted:
        say("limits: the cached API list with the API throttles counting and off, in turn")
        p["limits"] = phases.limits(plan, say)
    if "workers" in wanted:
        say("4/6. worker scaling and Celery queue wait")
        p["workers"] = phases.worker_scaling(plan, say)
    if "mixed" in wanted:
        say("5. decomposed stack vs monolith, mixed journeys, equal CPU")
        p["mixed"] = phases.mixed(plan, say)
        p["cost"] = phases.cost(p["mixed"], memory_at_rest)


def _count_discarded(node) -> int:
    if isinstance(node, dict):
        own = 1 if node.get("discarded") is True else 0
        return own + sum(_count_discarded(v) for k, v in node.items() if k != "discarded")
    if isinstance(node, list):
        return sum(_count_discarded(v) for v in node)
    return 0


if __name__ == "__main__":
    sys.exit(main())
