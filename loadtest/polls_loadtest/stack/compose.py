"""One driver for the repository's compose stacks, used by the e2e tests, the drills, the bench and
the base-image tests: start, wait, scale, stop, kill, pause, exec, sql, logs, ps.

The named stacks (test, chaos, bench) are declared once, in loadtest/compose/stacks.mk, which the
Makefile includes too. Every command is bounded in time, and only ever addresses the containers
of this stack's compose project. A Kubernetes driver would offer the same fault methods
(docs/resilience.md): `kubectl delete pod` for stop/kill, `kubectl scale` and `rollout restart`,
a NetworkPolicy that drops the database's traffic for pause, `kubectl exec` for exec.
"""

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
STACKS_FILE = REPO / "loadtest" / "compose" / "stacks.mk"
# resolver valid=5s in gateway/templates/gateway.conf.template, plus a second.
GATEWAY_RESOLVE_SECONDS = 6
# How long to wait for a stop at the container's own timeout (docker kills it then): a bound for a
# docker that hangs, above every stop_grace_period of the compose files (worker's 3 min).
STOP_WAIT_LIMIT_S = 300


class StackError(RuntimeError):
    """A docker or docker compose command failed or did not answer in time."""


@dataclass(frozen=True)
class Container:
    name: str
    id: str
    service: str
    ip: str  # on the stack's network


def process(
    command: Iterable[str], *, env: dict | None = None, timeout: float = 120, quiet: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository, stdin closed and bounded in time; return the finished process
    (stderr goes to the terminal unless `quiet`)."""
    command = list(command)
    streams = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE if quiet else None}
    try:
        return subprocess.run(command, cwd=REPO, env=env, text=True, timeout=timeout, **streams)
    except subprocess.TimeoutExpired as error:
        raise StackError(f"{' '.join(command[:6])} ...: no answer within {timeout:g} s") from error


def run(
    command: Iterable[str], *, env: dict | None = None, timeout: float = 120, check: bool = True, quiet: bool = True
) -> str:
    """Run a command like process(); return its stdout, or raise StackError if it failed and `check`."""
    command = list(command)
    done = process(command, env=env, timeout=timeout, quiet=quiet)
    if check and done.returncode != 0:
        raise StackError(f"{' '.join(command[:8])} ... failed:\n{done.stdout[-1000:]}\n{(done.stderr or '')[-2000:]}")
    return done.stdout


def _container(info: dict) -> Container:
    """A Container from what `docker inspect` says of it."""
    service = info["Config"]["Labels"].get("com.docker.compose.service", "")
    ip = next(iter(info["NetworkSettings"]["Networks"].values()))["IPAddress"]
    return Container(info["Name"].lstrip("/"), info["Id"], service, ip)


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    return run(["docker", *args], timeout=timeout, check=check)


def _inspect(*ids: str) -> list[dict]:
    """What `docker inspect` says of these containers (none: nothing)."""
    return json.loads(docker("inspect", *ids)) if ids else []


@contextmanager
def override_file(services: dict[str, dict]) -> Iterator[str]:
    """A compose file that changes these services ({name: what to change}), to pass as `extra_files`
    for the time of the block; yield its path."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="polls-override-") as file:
        json.dump({"services": services}, file)  # JSON is YAML
        file.flush()
        yield file.name


def named_stacks() -> dict[str, dict[str, str]]:
    """Return {name: {project, files, port, image_tag}} as stacks.mk declares them."""
    stacks: dict[str, dict[str, str]] = {}
    for name, key, value in re.findall(r"^STACK_([A-Z]+)_([A-Z_]+) := (\S+)$", STACKS_FILE.read_text(), re.M):
        stacks.setdefault(name.lower(), {})[key.lower()] = value
    return stacks


@dataclass(frozen=True)
class Stack:
    """A compose project of this repository: its files, gateway port and image tag."""

    project: str
    files: str  # COMPOSE_FILE: paths from the repository root, ':'-separated
    port: int
    image_tag: str = ""

    @classmethod
    def named(cls, name: str) -> "Stack":
        spec = named_stacks()[name]
        return cls(spec["project"], spec["files"], int(spec["port"]), spec.get("image_tag", ""))

    @classmethod
    def from_environment(cls, default: str) -> "Stack":
        """The stack the Makefile exported (COMPOSE_PROJECT_NAME, COMPOSE_FILE, GATEWAY_PORT), else the
        named `default` one."""
        base = cls.named(default)
        return cls(
            os.environ.get("COMPOSE_PROJECT_NAME", base.project),
            os.environ.get("COMPOSE_FILE", base.files),
            int(os.environ.get("GATEWAY_PORT", base.port)),
            os.environ.get("IMAGE_TAG", base.image_tag),
        )

    @property
    def target(self) -> str:
        """The gateway's URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    def env(self, *, without: Iterable[str] = ()) -> dict[str, str]:
        """The environment for compose: this stack's project, files and port; `without` leaves
        variables out (e.g. those only make exports)."""
        env = {key: value for key, value in os.environ.items() if key not in set(without)}
        env.update(COMPOSE_PROJECT_NAME=self.project, COMPOSE_FILE=self.files, GATEWAY_PORT=str(self.port))
        if self.image_tag:
            env["IMAGE_TAG"] = self.image_tag
        return env

    def compose(self, *args: str, extra_files: Iterable[str] = (), without: Iterable[str] = (), **options) -> str:
        """Run `docker compose ARGS` on this stack, with run()'s `options` (timeout 300 s by default);
        return its stdout. `extra_files` are compose files beyond the stack's own."""
        extra = list(extra_files)
        files = [arg for f in (*self.files.split(":"), *extra) for arg in ("-f", f)] if extra else []
        return run(["docker", "compose", *files, *args], env=self.env(without=without), **{"timeout": 300, **options})

    def up(self, *args: str, build: bool = True, timeout: float = 1200) -> None:
        """Build (unless told not to) and start the stack, and wait until it is healthy."""
        flags = ["--detach", "--wait", "--remove-orphans", *(["--build"] if build else [])]
        self.compose("up", *flags, *args, timeout=timeout, quiet=False)

    def down(self) -> None:
        """Remove the stack's containers, networks and volumes."""
        self.compose("down", "--volumes", "--remove-orphans")

    def seed(self, *args: str) -> None:
        """Fill the database with the demo data the scenarios expect (idempotent)."""
        self.compose(
            "run", "--rm", "--no-deps", "migrate", "python", "manage.py", "seed", "--allow-public-password", *args
        )

    def scale(self, service: str, replicas: int, *, recreate: bool = False, deps: bool = True, **options) -> None:
        """Run `replicas` replicas of a service and wait until they are healthy: `recreate` replaces
        the running ones, `deps=False` leaves the services it depends on alone (`options`: compose()'s)."""
        flags = ["--force-recreate" if recreate else "--no-recreate", *([] if deps else ["--no-deps"])]
        self.compose("up", "--detach", "--wait", *flags, "--scale", f"{service}={replicas}", service, **options)

    def restore(self) -> None:
        """Bring the stack back to its declared state: every replica up and healthy."""
        # Unfreeze first (compose cannot stop or start a paused container), then start whatever is
        # stopped and bring the replica counts back to what the compose files declare.
        self.unpause()
        self.compose("up", "--detach", "--wait", "--remove-orphans")
        self.wait_healthy()

    def wait_healthy(self, service: str | None = None, *, timeout: float = 120) -> None:
        """Wait until every container (of one service) runs and is healthy; migrate is done when it exits.

        Docker marks a paused container unhealthy and keeps that status after `docker unpause` until
        the next health probe, and `compose up --wait` fails at once on an unhealthy container: so
        wait here after unpausing, before anything scales the service.
        """
        deadline = time.monotonic() + timeout
        while True:
            waiting = [
                row["Names"]
                for row in self._rows(service, all_states=True)
                if "-migrate-" not in row["Names"]
                and (row["State"] != "running" or "starting" in row["Status"] or "unhealthy" in row["Status"])
            ]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise StackError(f"not healthy after {timeout:g} s: {', '.join(sorted(waiting))}")
            time.sleep(1)

    def ps(self, *args: str) -> str:
        """Run `docker ps ARGS` on this stack's containers only; return its output."""
        return docker("ps", "--no-trunc", "--filter", f"label=com.docker.compose.project={self.project}", *args)

    def _rows(self, service: str | None, *, all_states: bool = False) -> list[dict]:
        args = ["--format", "{{json .}}", *(["--all"] if all_states else [])]
        if service:
            args += ["--filter", f"label=com.docker.compose.service={service}"]
        return [json.loads(line) for line in self.ps(*args).splitlines() if line.strip()]

    def containers(self, service: str | None = None) -> list[Container]:
        """Return the running containers of the project (of one service), oldest first."""
        found = _inspect(*[row["ID"] for row in self._rows(service)])
        return [_container(info) for info in sorted(found, key=lambda info: (info["Created"], info["Name"]))]

    def replicas(self, service: str) -> list[str]:
        """Return the names of the running replicas of a service, oldest first."""
        return [c.name for c in self.containers(service)]

    def one(self, service: str) -> Container:
        found = self.containers(service)
        if not found:
            raise StackError(f"no running container of {service} in {self.project}")
        return found[0]

    def address(self, replica: str) -> str:
        """Return a replica's address on the stack's network."""
        return _container(_inspect(replica)[0]).ip

    def restart_counts(self) -> dict[str, int]:
        """Return how often each container was restarted by its restart policy (crash loops)."""
        return {row["Name"].lstrip("/"): row["RestartCount"] for row in _inspect(*self.ps("--all", "--quiet").split())}

    def logs(self, replica: str, *, since: float) -> str:
        """Return what a replica logged (stdout and stderr) since a Unix time."""
        done = process(["docker", "logs", "--since", f"{since:.3f}", replica], timeout=30)
        return done.stdout + done.stderr

    def exec(self, service: str, *command: str, timeout: float = 300) -> str:
        """Run a command in the oldest replica of a service; return its output."""
        return docker("exec", self.one(service).id, *command, timeout=timeout)

    def sql(self, query: str, *, timeout: float = 30) -> list[list[str]]:
        """Run SQL with psql in the postgres service; return the rows as lists of text."""
        out = self.exec("postgres", "psql", "-U", "polls", "-d", "polls", "-AtF", "\t", "-c", query, timeout=timeout)
        return [line.split("\t") for line in out.splitlines() if line]

    def set_cpus(self, quotas: dict[str, float]) -> None:
        """Hold every container of each service to a CPU quota (CFS), without restarting it."""
        for service, cpus in quotas.items():
            for c in self.containers(service):
                docker("update", "--cpus", f"{cpus:g}", c.id)

    def stop(self, replica: str, *, grace: float | None = None) -> None:
        """Stop one replica gracefully: SIGTERM, then SIGKILL after `grace` seconds (by default its own
        stop timeout, the service's stop_grace_period: web's drain, worker's warm shutdown)."""
        flags = [] if grace is None else ["--time", str(int(grace))]
        docker("stop", *flags, replica, timeout=STOP_WAIT_LIMIT_S if grace is None else grace + 30)

    def kill(self, replica: str) -> None:
        """Kill one replica at once (SIGKILL): no drain, no cleanup."""
        docker("kill", "--signal", "KILL", replica)

    def start(self, replica: str) -> None:
        docker("start", replica)

    def restart(self, replica: str) -> None:
        docker("restart", "--time", "30", replica, timeout=90)

    def stop_service(self, service: str) -> None:
        """Stop every replica of a service (a dependency outage)."""
        self.compose("stop", service)

    def start_service(self, service: str) -> None:
        self.compose("start", service)
        self.wait_healthy()

    def rolling_restart(
        self, service: str, *, before_stop: Callable[[str], None] | None = None, extra_files: Iterable[str] = ()
    ) -> None:
        """Replace every replica, one at a time: a new one ready before an old one stops.

        `before_stop(old_replica)` runs just before each old replica is told to stop. With
        `extra_files` that change the service's image, this is a release's rollout: compose keeps the
        old replicas as they are (--no-recreate) and starts each new one from the service's own
        definition, as a Deployment's rolling update does when a release changes the image.
        """
        old = self.replicas(service)
        for replica in old:
            # Surge one new replica (maxSurge 1), wait until it is healthy, then retire one old one
            # (maxUnavailable 0): the service never has fewer ready replicas than it started with.
            self.scale(service, len(old) + 1, deps=False, extra_files=extra_files)
            # The gateway re-resolves service names every 5 s (resolver valid=5s): give it time to
            # add the new replica before an old one goes, as endpoint propagation does in Kubernetes.
            time.sleep(GATEWAY_RESOLVE_SECONDS)
            if before_stop is not None:
                before_stop(replica)
            self.stop(replica)
            docker("rm", replica)
        self.wait_healthy()

    def pause(self, service: str) -> None:
        """Freeze a service's processes (a database that stops answering, connections stay open)."""
        for replica in self.replicas(service):
            docker("pause", replica)

    def unpause(self, service: str | None = None) -> None:
        """Unfreeze the paused containers of a service (or of the whole stack)."""
        for row in self._rows(service, all_states=True):
            if "Paused" in row["Status"]:
                docker("unpause", row["Names"])
