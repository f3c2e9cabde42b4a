"""`make profile`: py-spy flame graphs of the api and web workers while wrk drives one read at them.

    python -m polls_loadtest.bench.profile [--seconds 20] [--keep] [--no-build]

Starts the bench stack (polls-bench, the floor phase's CPU quotas), seeds it, and for each read
below samples every gunicorn process of the service that answers it with py-spy while wrk loads
it through the gateway. Writes loadtest/reports/profile-<time>/: one flame graph (SVG) per read
and profile.md with the functions the workers spent the most samples in. Needs root (py-spy
reads the containers' processes from the host). Bounded: `seconds` of load per read.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

from polls_loadtest import REPORTS
from polls_loadtest.bench import STACK, wrk
from polls_loadtest.bench.phases import FLOOR_QUOTAS
from polls_loadtest.stack import docker

TOP = 20  # functions listed per read and table in profile.md
# py-spy is a dev requirement: in the virtualenv that runs this, whether or not it is on PATH.
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def reads(gateway: str, poll: int) -> dict[str, tuple[str, str]]:
    """Name -> (service that answers it, URL through the gateway)."""
    return {
        "api-list": ("api", f"http://{gateway}:8080/api/polls/"),
        "api-poll": ("api", f"http://{gateway}:8080/api/polls/{poll}/"),
        "api-results": ("api", f"http://{gateway}:8080/api/polls/{poll}/results/"),
        "web-home": ("web", f"http://{gateway}:8080/"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polls_loadtest.bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="load and sampling per read")
    parser.add_argument("--keep", action="store_true", help="leave the polls-bench stack running")
    parser.add_argument("--no-build", action="store_true", help="do not rebuild the images")
    args = parser.parse_args(argv)
    wrk.ensure_wrk()
    folder = REPORTS / f"profile-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True)
    print(f"starting the {STACK.project} stack ...", flush=True)
    STACK.up("--scale", "api=1", "--scale", "web=1", "--scale", "worker=1", build=not args.no_build)
    try:
        STACK.seed("--users", "50")
        STACK.set_cpus(FLOOR_QUOTAS)
        api = STACK.one("api").ip
        poll = json.loads(urllib.request.urlopen(f"http://{api}:8001/api/polls/", timeout=10).read())["results"][0]
        sections = []
        for name, (service, url) in reads(STACK.one("gateway").ip, poll["id"]).items():
            print(f"{name}: {args.seconds} s of wrk on {url}, py-spy on {service} ...", flush=True)
            wrk.run(url, seconds=2)  # warm the caches and the workers first
            stacks, load = _record(service, url, folder / f"{name}.svg", args.seconds)
            sections.append(_section(name, url, load, stacks))
        (folder / "profile.md").write_text(_markdown(sections))
    finally:
        if not args.keep:
            STACK.down()
    print(f"flame graphs and profile.md in {folder}")
    return 0


def _record(service: str, url: str, svg: Path, seconds: int) -> tuple[Counter, wrk.WrkResult]:
    """Sample the service's gunicorn processes (master and workers) during a wrk run of url.

    Two samplers on the same processes: one writes the flame graph, the other the raw stacks that
    profile.md is counted from. --nonblocking: the workers are never paused, so the load is real.
    """
    pid = docker("inspect", "-f", "{{.State.Pid}}", STACK.one(service).name).strip()
    common = [PY_SPY, "record", "--pid", pid, "--subprocesses", "--nonblocking", "--duration", str(seconds)]
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as raw:
        samplers = [
            subprocess.Popen([*common, "--format", "flamegraph", "-o", str(svg)], stdout=subprocess.DEVNULL),
            subprocess.Popen([*common, "--format", "raw", "-o", raw.name], stdout=subprocess.DEVNULL),
        ]
        load = wrk.run(url, seconds=seconds)
        for sampler in samplers:
            if sampler.wait(timeout=seconds + 30) != 0:
                raise RuntimeError(f"py-spy failed on {service} (pid {pid}): run as root, with py-spy installed")
        return _working_stacks(raw.read()), load


def _working_stacks(raw: str) -> Counter:
    """Return {stack: samples} of the threads that were answering a request.

    py-spy's collapsed stacks are "frame;frame;frame count" lines. Idle gunicorn threads (waiting
    for a connection), the arbiter and the heartbeat are left out: only stacks that pass through
    gunicorn's handle_request are a request's work.
    """
    stacks: Counter = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit() and "handle_request (gunicorn" in stack:
            stacks[stack] += int(count)
    return stacks


def _section(name: str, url: str, load: wrk.WrkResult, stacks: Counter) -> str:
    total = sum(stacks.values()) or 1
    own: Counter = Counter()
    inclusive: Counter = Counter()
    for stack, count in stacks.items():
        frames = [frame.strip() for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def rows(counter: Counter) -> str:
        return "\n".join(f"| {100 * n / total:.1f} % | `{frame}` |" for frame, n in counter.most_common(TOP))

    return (
        f"## {name}\n\n{url}: {load.rps:.1f} req/s, p99 {load.latency_ms.get('p99', 0):.1f} ms, "
        f"{total} samples of request work. Flame graph: [{name}.svg]({name}.svg).\n\n"
        f"Where the samples were (own time, including system calls made from that line):\n\n"
        f"| samples | function |\n|---|---|\n{rows(own)}\n\n"
        f"What the samples passed through (inclusive):\n\n"
        f"| samples | function |\n|---|---|\n{rows(inclusive)}\n"
    )


def _markdown(sections: list[str]) -> str:
    return (
        "# Profile of the api and web workers under wrk (make profile)\n\n"
        "Counted from py-spy's samples of every gunicorn process of the service, at the floor "
        "phase's CPU quotas; the percentages are of the samples in which a thread was answering a "
        "request (idle threads, the arbiter and the heartbeat left out).\n\n" + "\n".join(sections)
    )


if __name__ == "__main__":
    sys.exit(main())
