"""Combine the figures of clients that sent together (the pods of the cluster's loadtest Job).

A client run with --log-summary ends its output with `LOADTEST-SUMMARY {json}`: its settings,
counts and encoded HDR histograms. `merge` finds those lines in files (each pod's `kubectl logs`,
prefixed or not), adds the histograms and sums the counts, so the percentiles are those of all
requests together, never an average of each client's:

    python -m polls_loadtest.load merge LOG... [--out combined.json]
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from hdrh.histogram import HdrHistogram

from polls_loadtest.load.recorder import describe, histogram_summary, new_histogram

TAG = "LOADTEST-SUMMARY "
COUNTS = ("scheduled", "sent", "ok", "failed", "achieved_rate")
HISTOGRAMS = {"latency_us": "latency_ms", "service_time_us": "service_time_ms"}  # encoded -> summary key


def summary_line(results: dict) -> str:
    """Return the line a client prints for `merge`: its settings, counts, status codes and histograms."""
    return TAG + json.dumps({k: results[k] for k in ("settings", "summary", "status_codes", "histograms")})


def read(path: Path) -> list[dict]:
    """Return the client summaries in a file; a file without one (a pod that never started) is an error."""
    parts = [json.loads(line.partition(TAG)[2]) for line in path.read_text().splitlines() if TAG in line]
    if not parts:
        raise ValueError(f"{path}: no {TAG.strip()} line (did the client start, with --log-summary?)")
    return parts


def combine(parts: list[dict]) -> dict:
    """Return the clients' figures as one run's: counts summed, histograms added, percentiles of the sum."""
    histograms, clients = {name: new_histogram() for name in HISTOGRAMS}, []
    for part in parts:
        own = {name: HdrHistogram.decode(part["histograms"][name]) for name in HISTOGRAMS}
        for name, histogram in histograms.items():
            histogram.add(own[name])
        settings, summary = part["settings"], part["summary"]
        clients.append(
            {k: settings[k] for k in ("rate", "users", "first_account")}
            | {k: summary[k] for k in ("ok", "failed")}
            | {"p99_ms": histogram_summary(own["latency_us"]).get("p99")}
        )
    return {
        "clients": clients,
        "rate": sum(part["settings"]["rate"] for part in parts),  # they ran at once: rates add up
        "summary": {k: round(sum(part["summary"][k] for part in parts), 2) for k in COUNTS}
        | {key: histogram_summary(histograms[name]) for name, key in HISTOGRAMS.items()},
        "status_codes": dict(sorted(sum((Counter(part["status_codes"]) for part in parts), Counter()).items())),
        "histograms": {name: histogram.encode().decode("ascii") for name, histogram in histograms.items()},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="polls_loadtest.load merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="+", type=Path, help="the clients' output (kubectl logs of each pod)")
    parser.add_argument("--out", type=Path, help="also write the combined figures here (JSON)")
    args = parser.parse_args(argv)
    try:
        merged = combine([part for path in args.logs for part in read(path)])
    except (OSError, ValueError) as error:
        print(f"merge: {error}", file=sys.stderr)
        return 2
    for c in merged["clients"]:
        print(f"  {c['rate']:g} req/s, {c['users']} users from demo account {c['first_account']}: ", end="")
        print(f"{c['ok']} ok, {c['failed']} failed, p99 {c['p99_ms']} ms")
    s = merged["summary"]
    print(
        f"{len(merged['clients'])} clients, {merged['rate']:g} req/s together: {s['ok']} ok, {s['failed']} failed of "
        f"{s['scheduled']} scheduled ({s['achieved_rate']:g} ok/s); latency from schedule {describe(s['latency_ms'])}"
    )
    if args.out:
        args.out.write_text(json.dumps(merged, indent=1) + "\n")
    return 0
