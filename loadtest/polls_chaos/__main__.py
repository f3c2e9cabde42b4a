"""`python -m polls_chaos [--drill NAME]`: what `make chaos` runs against the polls-chaos stack."""

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from polls_chaos import report
from polls_chaos.drills import DRILLS
from polls_chaos.faults import DockerDriver
from polls_chaos.runner import DEFAULT_RATE, DEFAULT_USERS, run_all
from polls_chaos.stack import Stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polls_chaos", description=__doc__)
    parser.add_argument("--drill", default="", help=f"one drill (default all): {', '.join(DRILLS)}")
    parser.add_argument("--target", default=os.environ.get("CHAOS_TARGET", "http://127.0.0.1:28080"))
    parser.add_argument("--project", default=os.environ.get("COMPOSE_PROJECT_NAME", "polls-chaos"))
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if urlsplit(args.target).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("drills send traffic only to the stack on loopback")
    names = [n for n in args.drill.split(",") if n] or list(DRILLS)
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        parser.error(f"unknown drill {', '.join(unknown)}; choose from {', '.join(DRILLS)}")
    out = args.out or Path("loadtest/reports") / f"chaos-{datetime.now():%Y%m%d-%H%M%S}"
    began = time.monotonic()
    results = run_all(names, Stack(args.target, DockerDriver(project=args.project)), out,
                      rate=args.rate, users=args.users)
    print()
    print(report.table(results))
    print(f"\n{sum(r.passed for r in results)}/{len(results)} drills passed in {time.monotonic() - began:.0f} s;"
          f" report: {out / 'index.html'}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
