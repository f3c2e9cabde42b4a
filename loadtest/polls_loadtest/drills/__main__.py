"""`python -m polls_loadtest.drills [--drill NAME]`: what `make chaos` runs against the polls-chaos stack."""

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from polls_loadtest import REPORTS
from polls_loadtest.drills import report
from polls_loadtest.drills.drills import DRILLS
from polls_loadtest.drills.runner import DEFAULT_RATE, DEFAULT_USERS, run_drill
from polls_loadtest.drills.site import Site
from polls_loadtest.stack import Stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polls_loadtest.drills", description=__doc__)
    parser.add_argument("--drill", default="", help=f"one drill (default all): {', '.join(DRILLS)}")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    names = [n for n in args.drill.split(",") if n] or list(DRILLS)
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        parser.error(f"unknown drill {', '.join(unknown)}; choose from {', '.join(DRILLS)}")
    out = args.out or REPORTS / f"chaos-{datetime.now():%Y%m%d-%H%M%S}"
    began = time.monotonic()
    # The polls-chaos stack (its gateway on 127.0.0.1), or the one the Makefile exported.
    site = Site(Stack.from_environment("chaos"))
    results = [run_drill(DRILLS[name], site, rate=args.rate, users=args.users) for name in names]
    report.write(results, out, started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    print()
    print(report.table(results))
    print(
        f"\n{sum(r.passed for r in results)}/{len(results)} drills passed in {time.monotonic() - began:.0f} s;"
        f" report: {out / 'index.html'}"
    )
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
