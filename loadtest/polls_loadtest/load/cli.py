"""`make loadtest`: an open-loop run through the gateway, live progress, then a report folder.

    python -m polls_loadtest.load --target http://127.0.0.1:8080 --rate 50 --duration 60 \
        --users 20 --mix browse:6,api:3,export:1
    python -m polls_loadtest.load merge FILE...    # several clients' --log-summary lines as one (merge.py)

Exit status: 0 after a run (also one with failed requests, unless --max-failed says otherwise),
1 if more requests failed than --max-failed allows, 2 if the users could not sign in.
"""

import argparse
import math
import sys
from datetime import datetime
from pathlib import Path

from polls_loadtest import REPORTS, is_loopback
from polls_loadtest.load import merge
from polls_loadtest.load.openloop import LoadSettings, OpenLoopRun, SetupError
from polls_loadtest.load.recorder import describe
from polls_loadtest.load.scenarios import parse_mix

# The options that are LoadSettings' fields, with its defaults (written once, there).
SETTINGS = ("target", "rate", "duration", "users", "timeout", "arrival", "seed", "first_account")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    default = LoadSettings()
    parser = argparse.ArgumentParser(prog="polls_loadtest.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=default.target, help="the gateway's base URL")
    parser.add_argument("--rate", type=float, default=default.rate, help="requests per second (all scenarios)")
    parser.add_argument("--duration", type=float, default=default.duration, help="seconds of load")
    parser.add_argument("--users", type=int, default=default.users, help="simulated users (a connection each)")
    mix = ",".join(f"{name}:{weight}" for name, weight in default.mix.items())
    parser.add_argument("--mix", default=mix, help="scenario weights: browse, api, export, healthz")
    parser.add_argument("--timeout", type=float, default=default.timeout, help="seconds per request")
    parser.add_argument("--arrival", choices=["uniform", "poisson"], default=default.arrival)
    parser.add_argument("--seed", type=int, default=default.seed, help="random seed, for repeatable runs")
    parser.add_argument("--first-account", type=int, default=default.first_account, help="the first demo account")
    parser.add_argument("--index", type=int, default=0, help="client i of several: accounts from first + i x users")
    parser.add_argument("--out", type=Path, help=f"report folder (default {REPORTS.name}/<timestamp>/)")
    parser.add_argument("--log-summary", action="store_true", help="no report: print one last line for `merge`")
    parser.add_argument("--max-failed", type=int, help="exit 1 if more requests than this failed (CI uses 0)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a target other than loopback (your cluster)")
    return parser.parse_args(argv)


def print_progress(snapshot: dict) -> None:
    """Print one line per second: totals, the queue, and p50/p99 of the last second's answers."""
    p50, p99 = snapshot["window_p50_ms"], snapshot["window_p99_ms"]
    latency = "p50      -  p99      -" if math.isnan(p50) else f"p50 {p50:6.1f} ms  p99 {p99:7.1f} ms"
    label = "done" if snapshot["final"] else f"{snapshot['elapsed']:5.1f}s"
    print(
        f"[{label}] sent {snapshot['sent']:7d}  ok {snapshot['ok']:7d}  failed {snapshot['failed']:5d}"
        f"  in flight {snapshot['in_flight']:4d}  queued {snapshot['queued']:5d}"
        f"  | last {snapshot['window_count']:5d} answers: {latency}",
        flush=True,
    )


def load_settings(args: argparse.Namespace) -> LoadSettings:
    """Return what to run; with --index I, the users take the demo accounts after those of clients 0..I-1."""
    values = {name: getattr(args, name) for name in SETTINGS} | {"mix": parse_mix(args.mix)}
    return LoadSettings(**values | {"first_account": args.first_account + args.index * args.users})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["merge"]:
        return merge.main(argv[1:])
    args = parse_args(argv)
    if not is_loopback(args.target) and not args.allow_remote:
        print(f"refusing to load {args.target}: only loopback targets, unless --allow-remote", file=sys.stderr)
        return 2
    settings = load_settings(args)
    if not args.log_summary:  # here, before the run: matplotlib is not in the cluster's image (loadtest/Dockerfile)
        from polls_loadtest.load import report
    folder = args.out or REPORTS / datetime.now().strftime("%Y%m%d-%H%M%S")
    print(
        f"Open-loop load on {settings.target}: {settings.rate:g} req/s for {settings.duration:g} s, "
        f"{settings.users} users from demo account {settings.first_account}, mix {args.mix}. Signing the users in ...",
        flush=True,
    )
    run = OpenLoopRun(settings, progress=print_progress)
    try:
        results = run.run()
    except SetupError as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 2
    summary = results["summary"]
    print(
        f"\n{summary['ok']} ok, {summary['failed']} failed of {summary['scheduled']} scheduled "
        f"({summary['achieved_rate']:g} ok/s); latency from schedule {describe(summary['latency_ms'])}; "
        f"client CPU {results['client']['cpu_percent_of_one_core']}% of one core"
    )
    for error in results["errors"][:10]:
        print(f"  failed: {error['count']:5d} x {error['request']}: {error['reason']}")
    if args.log_summary:
        print(merge.summary_line(results), flush=True)
    else:
        print(f"Report: {report.write(results, folder)}")
    if args.max_failed is not None and summary["failed"] > args.max_failed:
        print(f"{summary['failed']} failed requests, more than --max-failed {args.max_failed}", file=sys.stderr)
        return 1
    return 0
