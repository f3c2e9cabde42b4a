"""What the figures were measured on: cores, CPU model, load average, and the versions that ran."""

import os
import platform
import subprocess

from polls_loadtest.bench import STACK
from polls_loadtest.stack.compose import REPO as STACK_REPO


def machine() -> dict:
    """Return the host's cores, CPU model, memory, kernel and load average now."""
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gb": round(memory / 2**30, 1),
        "kernel": platform.release(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _first_line(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def commit() -> str:
    """Return the commit the stack was built from, with "+changes" when the tree differed from it."""
    git = ["git", "-C", str(STACK_REPO)]
    head = _first_line([*git, "rev-parse", "--short", "HEAD"])
    changed = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return head + ("+changes" if changed.stdout.strip() else "")


def versions() -> dict:
    """Return the versions of the programs that took part (host tools and the stack's images)."""
    api, gateway = STACK.one("api"), STACK.one("gateway")
    postgres, redis = STACK.one("postgres"), STACK.one("redis")
    python_versions = (
        "import sys, django, gunicorn, rest_framework, psycopg;"
        "print(f'python {sys.version.split()[0]}, Django {django.__version__}, gunicorn {gunicorn.__version__},"
        " DRF {rest_framework.__version__}, psycopg {psycopg.__version__}')"
    )
    return {
        "docker": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
        "compose": _first_line(["docker", "compose", "version", "--short"]),
        "wrk": _first_line(["wrk", "-v"]).split(" [")[0].removeprefix("wrk "),
        "host_python": platform.python_version(),
        "django_stack": _first_line(["docker", "exec", api.id, "python", "-c", python_versions]),
        "nginx": _first_line(["docker", "exec", gateway.id, "nginx", "-v"]).removeprefix("nginx version: "),
        "postgres": _first_line(["docker", "exec", postgres.id, "postgres", "--version"]),
        "redis": _first_line(["docker", "exec", redis.id, "redis-server", "--version"]).split(" sha=")[0],
    }
