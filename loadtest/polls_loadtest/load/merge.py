"""Combine the figures of clients that sent together (the pods of the cluster's loadtest Job) into one.

Each client run with `--log-summary` prints, as its last line, `LOADTEST-SUMMARY {json}`: its
counts and its HDR histograms in their encoded form. `merge` reads those lines from files (the
`kubectl logs` of each pod; a prefix before the tag, as `kubectl logs --prefix` adds, is fine) or
whole `results.json` files, adds the histograms and sums the counts: the percentiles come from all
requests together, never an average of each client's percentiles.

    python -m polls_loadtest.load merge loadtest/reports/job/*.log [--out combined.json]
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from hdrh.histogram import HdrHistogram

from polls_loadtest.load.recorder import describe, histogram_summary, new_histogram

TAG = "LOADTEST-SUMMARY "
COUNTS = ("scheduled", "sent", "ok", "failed")
HISTOGRAMS = {"latency_us": "latency_ms", "service_time_us": "service_time_ms"}  # encoded -> summary key


def summary_line(results: dict) -> str:
    """Return the one line a client prints for `merge`: what it sent, its counts and histograms."""
    settings = results["settings"]
    part = {
        "settings": {k: settings[k] for k in ("target", "rate", "duration", "users", "first_account", "mix")},
        "summary": {k: results["summary"][k] for k in (*COUNTS, "achieved_rate")},
        "status_codes": results["status_codes"],
        "histograms": results["histograms"],
    }
    return TAG + json.dumps(part, separators=(",", ":"))


def read(path: Path) -> list[dict]:
    """Return the client summaries in a file: its LOADTEST-SUMMARY lines, or the file as one results.json."""
    text = path.read_text()
    parts = [json.loads(line.partition(TAG)[2]) for line in text.splitlines() if TAG in line]
    if not parts and text.lstrip().startswith("{"):
        parts = [json.loads(text)]
    if not parts:
        raise ValueError(f"{path}: no {TAG.strip()} line (was the client run with --log-summary?) and not results.json")
    return parts


def combine(parts: list[dict]) -> dict:
    """Return one summary of several clients' runs: counts summed, histograms added, percentiles from the sum."""
    histograms = {name: new_histogram() for name in HISTOGRAMS}
    counts, status_codes, clients = Counter(), Counter(), []
    for part in parts:
        counts.update({k: part["summary"][k] for k in COUNTS})
        status_codes.update(part["status_codes"])
        own = {name: HdrHistogram.decode(part["histograms"][name]) for name in HISTOGRAMS}
        for name, histogram in histograms.items():
            histogram.add(own[name])
        settings = part["settings"]
        clients.append(
            {
                **{k: settings[k] for k in ("rate", "users", "first_account")},
                **{k: part["summary"][k] for k in ("ok", "failed")},
                "p99_ms": histogram_summary(own["latency_us"]).get("p99"),
            }
        )
    return {
        "clients": clients,
        "settings": {
            "target": ", ".join(sorted({part["settings"]["target"] for part in parts})),
            "rate": round(sum(part["settings"]["rate"] for part in parts), 3),
            "duration": max(part["settings"]["duration"] for part in parts),
            "users": sum(part["settings"]["users"] for part in parts),
        },
        "summary": {
            **{k: counts[k] for k in COUNTS},
            "error_rate": round(counts["failed"] / max(1, counts["scheduled"]), 6),
            "achieved_rate": round(sum(part["summary"]["achieved_rate"] for part in parts), 2),  # they ran together
            **{key: histogram_summary(histograms[name]) for name, key in HISTOGRAMS.items()},
        },
        "status_codes": dict(sorted(status_codes.items())),
        "histograms": {name: histogram.encode().decode("ascii") for name, histogram in histograms.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polls_loadtest.load merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="pods' logs (kubectl logs) or results.json files")
    parser.add_argument("--out", type=Path, help="also write the combined figures here (JSON)")
    args = parser.parse_args(argv)
    try:
        parts = [part for path in args.files for part in read(path)]
    except (OSError, ValueError) as error:
        print(f"merge: {error}", file=sys.stderr)
        return 2
    merged = combine(parts)
    summary = merged["summary"]
    for client in merged["clients"]:
        print(
            f"  client: {client['rate']:g} req/s, {client['users']} users from demo account {client['first_account']}:"
            f" {client['ok']} ok, {client['failed']} failed, p99 {client['p99_ms']} ms"
        )
    print(
        f"{len(parts)} clients, {merged['settings']['rate']:g} req/s together: {summary['ok']} ok, "
        f"{summary['failed']} failed of {summary['scheduled']} scheduled ({summary['achieved_rate']:g} ok/s); "
        f"latency from schedule {describe(summary['latency_ms'])}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(merged, indent=1) + "\n")
        print(f"Combined figures: {args.out}")
    return 0
