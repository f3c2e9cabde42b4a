"""Closed-loop throughput with wrk: the most requests per second a target gives on keep-alive.

wrk is a closed-loop tool (each connection waits for its answer), which is right for "how much
can it do" and wrong for latency under a given load: latency comes from the open-loop client
(polls_loadtest.load). The load generator's own CPU time is read from the kernel's accounting of the wrk
process (wait4), so a run where wrk rather than the target was short of CPU can be discarded.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk_report.lua")
CLIENT_CPU_LIMIT = 0.70  # of one core: above it the generator, not the target, may be the limit


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, errors, latency, and the CPU wrk itself used."""

    url: str
    rps: float
    requests: int
    errors: int
    latency_ms: dict[str, float]
    client_cpu: float  # wrk's CPU seconds / wall seconds, in cores

    @property
    def discarded(self) -> bool:
        return self.client_cpu > CLIENT_CPU_LIMIT

    def as_dict(self) -> dict:
        return {
            "url": self.url,
            "rps": round(self.rps, 1),
            "requests": self.requests,
            "errors": self.errors,
            "latency_ms": self.latency_ms,
            "client_cpu_of_one_core": round(self.client_cpu, 3),
            "discarded": self.discarded,
        }


def ensure_wrk() -> str:
    """Return wrk's path (`make ensure-wrk` installs the Debian package where it can)."""
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: run `make ensure-wrk` (Debian/Ubuntu: apt-get install wrk).")
    return found


def run(url: str, *, seconds: float = 5, connections: int = 16, threads: int = 1) -> WrkResult:
    """Run wrk once against url (bounded: `seconds` of load, killed 15 s after that)."""
    load = [f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s"]
    command = [ensure_wrk(), *load, "-s", str(SCRIPT), url]  # the script prints the figures as JSON
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        # A watchdog bounds the run; wait4 returns wrk's own rusage (user + system CPU).
        watchdog = threading.Timer(seconds + 15, process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        cpu = usage.ru_utime + usage.ru_stime
        out.seek(0), err.seek(0)
        out, err = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.strip()[:300]}")
    line = next(text for text in reversed(out.splitlines()) if text.startswith("{"))
    data = json.loads(line)
    seconds_run = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    return WrkResult(
        url=url,
        rps=(data["requests"] - data["errors"]["status"]) / seconds_run,
        requests=data["requests"],
        errors=errors,
        latency_ms={k: round(v / 1000, 3) for k, v in data["latency_us"].items()},
        client_cpu=cpu / max(wall, 1e-9),
    )
