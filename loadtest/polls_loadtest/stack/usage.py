"""CPU and memory of a stack's containers, from cgroup v1 (cpuacct.usage, memory.usage_in_bytes minus
inactive file pages, as `docker stats` counts them) or cgroup v2, and how busy the whole host was."""

import threading
from collections import defaultdict
from pathlib import Path

from polls_loadtest.stack.compose import Container, Stack

CGROUP = Path("/sys/fs/cgroup")


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
    usage, inactive = "memory.usage_in_bytes", "total_inactive_file"
    if not base.exists():  # cgroup v2
        base = CGROUP / "system.slice" / f"docker-{container.id}.scope"
        usage, inactive = "memory.current", "inactive_file"
    stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
    return int((base / usage).read_text()) - int(stat.get(inactive, 0))


def _host_cpu_ticks() -> tuple[int, int]:
    """Return the host's (busy, total) CPU ticks over all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user and nice
    return total - idle, total


class Usage:
    """CPU used per service over a block of code, each container's peak memory during it, and how
    busy the whole host was (percent of all cores: near 100, the host was the limit, not a quota).

        with Usage(stack) as usage:
            ... load ...
        usage.cpu_by_service, usage.peak_memory, usage.host_busy_pct
    """

    def __init__(self, stack: Stack, every: float = 0.5) -> None:
        self.stack, self.every = stack, every
        self.cpu_by_service: dict[str, float] = {}
        self.peak_memory: dict[str, int] = {}
        self.host_busy_pct: float | None = None
        self._stop = threading.Event()

    def __enter__(self) -> "Usage":
        self._containers = [c for c in self.stack.containers() if c.service != "migrate"]
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


def memory_now(stack: Stack) -> dict[str, int]:
    """Return each running container's memory now, by container name."""
    return {c.name: memory_bytes(c) for c in stack.containers() if c.service != "migrate"}
