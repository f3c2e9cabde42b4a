"""`make bench`: every figure of the report from one run of the benchmark stack, side by side.

    python -m polls_loadtest.bench [--repeats 3] [--quick] [--only floor,static,...] [--keep] [--no-build]

Starts the compose project polls-bench (STACK_BENCH_* in loadtest/compose/stacks.mk), seeds it, runs
the phases in order with a line of progress per run, writes bench.json and bench.md to
loadtest/reports/bench-<timestamp>/ (a complete run also to loadtest/reports/bench-latest/, which
`make capacity` reads), then removes the project unless --keep or a phase failed. Bounded: every run has a fixed
length; the report gives each phase's seconds (the whole: about 15 minutes on a 2-core machine).
"""

import argparse
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from polls_loadtest import REPORTS
from polls_loadtest.bench import STACK, capacity, isolation, machine, phases, profile, report, wrk
from polls_loadtest.stack.usage import memory_now


@dataclass(frozen=True)
class Phase:
    """A section of the report: `title` opens it in the progress lines; `measure` returns its
    figures, or None when a phase it `needs` gave none. `--only` adds the phases a chosen one
    needs; a phase without a title (figures computed from others, no load of its own) runs
    whenever all it needs runs, and cannot be chosen alone."""

    title: str | None
    measure: Callable[[phases.Bench], dict | None]
    needs: tuple[str, ...] = ()


# In the order they run. The report's item numbers are docs/performance.md's.
PHASES = {
    "floor": Phase("floor: a bare Django view, direct and through a gateway, and each read against it", phases.floor),
    "gateway": Phase(None, phases.gateway_vs_direct, ("floor",)),
    "static": Phase("1. static service vs Django serving the same file", phases.static_vs_django),
    "latency": Phase(
        "3. API read latency, open loop, at 50 % of the capacity just measured", phases.read_latency, ("gateway",)
    ),
    "api_scaling": Phase(
        f"4. api scaling: 1 and 2 replicas at {phases.SCALING_QUOTA} CPU each, in turn", phases.api_scaling
    ),
    "trials": Phase(
        "trials: the api's gunicorn workers and threads, and the API throttles off, at 0.5 CPU", phases.trials
    ),
    "votes": Phase(
        "3b. API reads with votes at 10 % of requests, at 50 % of that mix's capacity: cache hits, p99, a vote's CPU",
        phases.votes,
    ),
    "workers": Phase("4/6. worker scaling and Celery queue wait", phases.worker_scaling),
    "mixed": Phase("5. the decomposed stack saturated by mixed journeys: CPU per request by service", phases.mixed),
    "cost": Phase(None, phases.cost, ("mixed",)),
    "isolation": Phase(
        "isolation: web and API p99 under an API flood, then an export flood, vs the monolith, beside a control",
        isolation.isolation,
    ),
    "profile": Phase("profile: py-spy flame graphs of api and web under wrk, at the floor's quotas", profile.profile),
}
CHOICES = [name for name, phase in PHASES.items() if phase.title]  # the others come with them
QUICK = phases.Plan(
    repeats=2, wrk_seconds=3, latency_seconds=10, mixed_seconds=8, export_batch=80, votes_seconds=10, profile_seconds=5
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polls_loadtest.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement (spread)")
    parser.add_argument("--quick", action="store_true", help="2 repeats, shorter runs (a smoke test)")
    parser.add_argument("--only", default=",".join(CHOICES), help=f"phases to run: {','.join(CHOICES)}")
    parser.add_argument(
        "--keep", action="store_true", help="leave the polls-bench stack running (a failed run always does)"
    )
    parser.add_argument("--no-build", action="store_true", help="do not rebuild the images")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    only = [p for p in args.only.split(",") if p]
    if unknown := set(only) - set(CHOICES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))} (choose from {','.join(CHOICES)})")
    began = time.monotonic()

    def say(text: str) -> None:
        elapsed = int(time.monotonic() - began)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", flush=True)

    wrk.ensure_wrk()
    folder = args.out or REPORTS / f"bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    bench = phases.Bench(QUICK if args.quick else phases.Plan(repeats=args.repeats), say, folder)
    result: dict = {
        "schema": 1,
        "tool": "polls_loadtest.bench",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.machine(),
        "commit": machine.commit(),
        "plan": bench.plan.__dict__,
        "phases": bench.done,
    }
    m = result["machine"]
    say(f"machine: {m['cores']} cores, {m['cpu_model']}, load average {m['load_average']}")
    say("starting the polls-bench stack (docker compose up --build --wait) ...")
    STACK.up("--scale", "api=1", "--scale", "web=1", "--scale", "worker=1", build=not args.no_build)
    try:
        STACK.seed("--users", "50")
        result["versions"] = machine.versions()
        time.sleep(3)
        bench.memory_at_rest = memory_now(STACK)
        for name in chosen(only):
            phase = PHASES[name]
            if phase.title:
                say(phase.title)
            started = time.monotonic()
            if (figures := phase.measure(bench)) is None:
                say(f"  skipped: no figures from {', '.join(phase.needs)}")
            else:
                bench.done[name] = {**figures, "phase_seconds": round(time.monotonic() - started, 1)}
                if reason := figures.get("skipped"):
                    say(f"  skipped: {reason}")
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
    peak_load = max(m["load_average"][0], result["load_after"][0])
    if peak_load > (m["cores"] or 1):
        result["busy"] = f"load average {peak_load} on {m['cores'] or 1} cores"
    result["discarded_runs"] = _count_discarded(result["phases"])
    report.write(result, folder)
    # Only a complete run becomes the one `make capacity` reads.
    latest = capacity.LATEST.parent
    complete = set(only) >= set(CHOICES) and "error" not in result
    if complete and folder.resolve() != latest.resolve():
        shutil.rmtree(latest, ignore_errors=True)
        shutil.copytree(folder, latest)
    print()
    print(report.markdown(result))
    say(f"report: {folder}/bench.md and bench.json" + (f" (also {latest})" if complete else ""))
    return 1 if "error" in result else 0


def chosen(only: Iterable[str]) -> list[str]:
    """Return the phases to run for `--only` names, with what they need, in the order they run."""
    wanted = set(only)
    while (
        more := (
            {need for name in wanted for need in PHASES[name].needs}
            | {name for name, phase in PHASES.items() if not phase.title and set(phase.needs) <= wanted}
        )
        - wanted
    ):
        wanted |= more
    return [name for name in PHASES if name in wanted]


def _count_discarded(node) -> int:
    """Count the runs marked discarded anywhere in the phases' figures."""
    if isinstance(node, dict):
        own = 1 if node.get("discarded") is True else 0
        return own + sum(_count_discarded(v) for k, v in node.items() if k != "discarded")
    if isinstance(node, list):
        return sum(_count_discarded(v) for v in node)
    return 0
