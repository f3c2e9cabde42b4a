"""The benchmark's own compose project, and the cgroup accounting of its containers.

Project polls-bench (gateway on 127.0.0.1:38080), built from docker-compose.yml plus
loadtest/bench/docker-compose.bench.yml; it never touches the projects polls, polls-test or
polls-chaos. CPU and memory come from cgroup v1 (cpuacct.usage, memory.usage_in_bytes minus
inactive file pages, as `docker stats` counts them) and, where that tree is missing, from
`docker stats`.
"""

import json
import os
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROJECT = "polls-bench"
GATEWAY_PORT = "38080"
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.load.yml", "loadtest/bench/docker-compose.bench.yml")
CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Container:
    name: str
    id: str
    service: str
    ip: str


def _env() -> dict[str, str]:
    # Own image tag too: building never retags the images `make up` or `make test` run.
    env = dict(os.environ, COMPOSE_PROJECT_NAME=PROJECT, GATEWAY_PORT=GATEWAY_PORT)
    env.setdefault("IMAGE_TAG", "bench")
    # The base images come from .env, which compose reads from the project directory by itself.
    return env


def run(command: list[str], *, timeout: float = 600, check: bool = True, quiet: bool = True) -> str:
    """Run a command in the repository, bounded in time; return its stdout."""
    result = subprocess.run(command, cwd=REPO, env=_env(), text=True, timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE if quiet else None)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} ... failed:\n{(result.stderr or '')[-2000:]}")
    return result.stdout


def compose(*args: str, timeout: float = 600, check: bool = True, quiet: bool = True,
            extra_files: tuple[str, ...] = ()) -> str:
    files = [arg for f in (*COMPOSE_FILES, *extra_files) for arg in ("-f", f)]
    return run(["docker", "compose", "-p", PROJECT, *files, *args], timeout=timeout, check=check, quiet=quiet)


def up(*, build: bool = True) -> None:
    """Build (unless told not to) and start the stack, one replica each, and wait until healthy."""
    compose("up", "--detach", "--wait", "--remove-orphans", *(["--build"] if build else []),
            "--scale", "api=1", "--scale", "web=1", "--scale", "worker=1", timeout=1200, quiet=False)


def seed() -> None:
    """Fill the database with the demo data the scenarios expect (idempotent)."""
    compose("run", "--rm", "--no-deps", "migrate", "python", "manage.py", "seed", "--allow-public-password", "--users", "50",
            timeout=300)


def down() -> None:
    compose("down", "--volumes", "--remove-orphans", timeout=300)


def containers(service: str | None = None) -> list[Container]:
    """Return the running containers of the project (of one service), sorted by name."""
    out = run(["docker", "ps", "--no-trunc", "--filter", f"label=com.docker.compose.project={PROJECT}",
               "--format", "{{.ID}}"])
    ids = out.split()
    if not ids:
        return []
    found = []
    for info in json.loads(run(["docker", "inspect", *ids])):
        name = info["Config"]["Labels"].get("com.docker.compose.service", "")
        if service and name != service:
            continue
        ip = next(iter(info["NetworkSettings"]["Networks"].values()))["IPAddress"]
        found.append(Container(info["Name"].lstrip("/"), info["Id"], name, ip))
    return sorted(found, key=lambda c: c.name)


def one(service: str) -> Container:
    found = containers(service)
    if not found:
        raise RuntimeError(f"no running container of {service} in {PROJECT}")
    return found[0]


def set_cpus(quotas: dict[str, float]) -> None:
    """Hold every container of each service to a CPU quota (CFS), without restarting it."""
    for service, cpus in quotas.items():
        for c in containers(service):
            run(["docker", "update", "--cpus", f"{cpus:g}", c.id])


def scale(service: str, replicas: int) -> None:
    compose("up", "--detach", "--wait", "--no-recreate", "--scale", f"{service}={replicas}", service,
            timeout=300)


def wait_healthy(service: str, *, timeout: float = 40) -> None:
    """Wait until Docker reports every container of a service healthy again.

    Docker marks a paused container unhealthy and keeps that status after `docker unpause` until
    the next health probe (the service's interval later), and `compose up --wait` fails at once on
    an unhealthy container: so wait here after unpausing, before anything scales the service.
    """
    deadline = time.monotonic() + timeout
    while True:
        states = {c.name: run(["docker", "inspect", "-f", "{{.State.Health.Status}}", c.id]).strip()
                  for c in containers(service)}
        if all(state == "healthy" for state in states.values()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service} not healthy within {timeout:.0f} s: {states}")
        time.sleep(1)


def recreate(service: str, environment: dict[str, str]) -> None:
    """Recreate one replica of a service with extra environment (a tuning trial), and wait."""
    import tempfile

    import yaml

    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="polls-bench-tune-") as override:
        yaml.safe_dump({"services": {service: {"environment": environment}}}, override)
        override.flush()
        compose("up", "--detach", "--wait", "--force-recreate", "--no-deps", "--scale", f"{service}=1",
                service, timeout=300, extra_files=(override.name,))


def execute(container: Container, *command: str, timeout: float = 300) -> str:
    return run(["docker", "exec", container.id, *command], timeout=timeout)


# ---- cgroup accounting -----------------------------------------------------------------------


def cpu_seconds(container: Container) -> float:
    """Return the CPU seconds the container has used since it started."""
    path = CGROUP / "cpuacct" / "docker" / container.id / "cpuacct.usage"
    if path.exists():
        return int(path.read_text()) / 1e9
    path = CGROUP / "system.slice" / f"docker-{container.id}.scope" / "cpu.stat"  # cgroup v2
    for line in path.read_text().splitlines():
        if line.startswith("usage_usec"):
            return int(line.split()[1]) / 1e6
    raise RuntimeError(f"no CPU accounting for {container.name}")


def memory_bytes(container: Container) -> int:
    """Return the container's memory in use, without inactive page cache (as docker stats does)."""
    base = CGROUP / "memory" / "docker" / container.id
    if base.exists():
        usage = int((base / "memory.usage_in_bytes").read_text())
        stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
        return usage - int(stat.get("total_inactive_file", 0))
    base = CGROUP / "system.slice" / f"docker-{container.id}.scope"
    usage = int((base / "memory.current").read_text())
    stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
    return usage - int(stat.get("inactive_file", 0))


def _host_cpu_ticks() -> tuple[int, int]:
    """Return the host's (busy, total) CPU ticks over all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user and nice
    return total - idle, total


class Usage:
    """CPU used per service over a block of code, each container's peak memory during it, and how
    busy the whole host was (percent of all cores: near 100, the host was the limit, not a quota).

        with Usage() as usage:
            ... load ...
        usage.cpu_by_service, usage.peak_memory, usage.host_busy_pct
    """

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.cpu_by_service: dict[str, float] = {}
        self.peak_memory: dict[str, int] = {}
        self.host_busy_pct: float | None = None
        self._stop = threading.Event()

    def __enter__(self) -> "Usage":
        self._containers = [c for c in containers() if c.service not in ("migrate",)]
        self._cpu = {c.id: cpu_seconds(c) for c in self._containers}
        self._host = _host_cpu_ticks()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(5)
        totals: dict[str, float] = defaultdict(float)
        for c in self._containers:
            try:
                totals[c.service] += cpu_seconds(c) - self._cpu[c.id]
            except (OSError, RuntimeError):
                pass  # the container went away during the block
        self.cpu_by_service = {k: round(v, 3) for k, v in sorted(totals.items())}
        busy, total = (after - before for after, before in zip(_host_cpu_ticks(), self._host))
        self.host_busy_pct = round(100 * busy / total, 1) if total else None

    def _sample(self) -> None:
        while not self._stop.is_set():
            for c in self._containers:
                try:
                    self.peak_memory[c.name] = max(self.peak_memory.get(c.name, 0), memory_bytes(c))
                except (OSError, ValueError):
                    pass
            self._stop.wait(self.every)


def memory_now() -> dict[str, int]:
    """Return each running container's memory now, by container name."""
    return {c.name: memory_bytes(c) for c in containers() if c.service != "migrate"}


def wait_for_replicas(url: str, replicas: int, *, timeout: float = 30) -> int:
    """Wait until answers from url (through the gateway) name `replicas` distinct replicas."""
    import urllib.request

    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                seen.add(answer.headers.get("X-Served-By", ""))
        except OSError:  # URLError, HTTPError: a 502 while the gateway re-resolves a new replica
            time.sleep(0.5)
            continue
        if len(seen - {""}) >= replicas:
            break
        time.sleep(0.2)
    return len(seen - {""})
