"""The bench's profile phase (also `make profile`): py-spy flame graphs of api and web under wrk.

For each read below, every gunicorn process of the service that answers it is sampled with py-spy
while wrk loads the read through the gateway, at the floor phase's CPU quotas. Each read's flame
graph (SVG) goes beside bench.md, with a table of the functions the request threads spent the most
samples in. Needs root (py-spy reads the containers' processes from the host) and py-spy (a dev
requirement): without either the phase says why and measures nothing. Bounded: Plan.profile_seconds
of load per read.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from polls_loadtest.bench import STACK, wrk
from polls_loadtest.bench.phases import FLOOR_QUOTAS, POLL_LIST, Bench, _url, at_floor_quotas
from polls_loadtest.stack import docker

TOP = 12  # functions listed per read and table
# py-spy is a dev requirement: in the virtualenv that runs this, whether or not it is on PATH.
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def profile(b: Bench) -> dict:
    """Record each read's flame graph into the report's folder; return, by read, its load and the
    functions its request threads spent the most samples in."""
    if os.geteuid() != 0 or not Path(PY_SPY).exists():
        return {"skipped": "py-spy needs root and the dev requirements' py-spy: run `sudo make profile`"}
    assert b.folder is not None, "the profile phase writes its SVGs beside the report"
    b.folder.mkdir(parents=True, exist_ok=True)
    poll = at_floor_quotas()
    reads = {  # name: (the service that answers it, its URL through the gateway)
        "api-list": ("api", _url("gateway", POLL_LIST)),
        "api-poll": ("api", _url("gateway", f"{POLL_LIST}{poll}/")),
        "web-home": ("web", _url("gateway", "/")),
    }
    figures = {}
    for name, (service, url) in reads.items():
        wrk.run(url, seconds=2)  # warm the caches and the workers first
        stacks, load = _record(service, url, b.folder / f"{name}.svg", b.plan.profile_seconds)
        figures[name] = {"url": url, "service": service, **_top(stacks), **load.as_dict()}
        b.say(f"  {name}: {load.rps:.1f} req/s under py-spy, {figures[name]['samples']} samples -> {name}.svg")
    return {"quotas": FLOOR_QUOTAS, "seconds": b.plan.profile_seconds, "reads": figures}


def _record(service: str, url: str, svg: Path, seconds: float) -> tuple[Counter, wrk.WrkResult]:
    """Sample the service's gunicorn processes (master and workers) during a wrk run of url.

    Two samplers on the same processes: one writes the flame graph, the other the raw stacks that
    the report's table is counted from. --nonblocking: the workers are never paused, so the load is real.
    """
    pid = docker("inspect", "-f", "{{.State.Pid}}", STACK.one(service).name).strip()
    common = [PY_SPY, "record", "--pid", pid, "--subprocesses", "--nonblocking", "--duration", str(round(seconds))]
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


def _top(stacks: Counter) -> dict:
    """The samples of request work, and the TOP functions by own and by inclusive share of them."""
    total = sum(stacks.values())
    own: Counter = Counter()
    inclusive: Counter = Counter()
    for stack, count in stacks.items():
        frames = [frame.strip() for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    # What every request passes through (the thread's start, gunicorn's loop) and py-spy's
    # "process ..." roots say nothing about where the time went.
    for frame in [f for f, n in inclusive.items() if f.startswith("process ") or n >= 0.99 * total]:
        del inclusive[frame]

    def shares(counter: Counter) -> list[list]:
        return [[frame, round(100 * n / (total or 1), 1)] for frame, n in counter.most_common(TOP)]

    return {"samples": total, "own_pct": shares(own), "inclusive_pct": shares(inclusive)}
