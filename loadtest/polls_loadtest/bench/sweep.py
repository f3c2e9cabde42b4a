"""`make wrk-sweep`: wrk's throughput and latency at rising connection counts, one line each.

    python -m polls_loadtest.bench.sweep --url http://127.0.0.1:8080/api/polls/ [--seconds 5]
        [--connections 1,2,4,8,16,32,64]

Where throughput stops rising with more connections is the target's capacity; past it only
latency grows (queueing). The URL must be on loopback (a stack's published port): the sweep is
a short, bounded burst at full speed, not something to point at other machines. Runs where wrk
used over 70 % of a core are marked: the generator may have been the limit there.
"""

import argparse
import sys

from polls_loadtest import is_loopback
from polls_loadtest.bench import wrk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polls_loadtest.bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080/api/polls/")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", default="1,2,4,8,16,32,64")
    args = parser.parse_args(argv)
    if not is_loopback(args.url):
        print(f"{args.url}: the sweep sends only to loopback (a stack's published port).", file=sys.stderr)
        return 2
    counts = [int(c) for c in args.connections.split(",") if c]
    print(f"wrk sweep of {args.url}, {args.seconds:g} s per step")
    print(f"{'conns':>6} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7} {'wrk CPU':>8}")
    for count in counts:
        result = wrk.run(args.url, seconds=args.seconds, connections=count, threads=min(2, count))
        note = "  (wrk over 70 % of a core: discard)" if result.discarded else ""
        print(
            f"{count:>6} {result.rps:>10.1f} {result.latency_ms['p50']:>9.1f} {result.latency_ms['p99']:>9.1f} "
            f"{result.errors:>7} {100 * result.client_cpu:>7.0f}%{note}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
