"""Fault injection behind one small interface, so the drills never name Docker or Kubernetes.

A drill asks for "stop one replica of api gracefully" or "pause postgres"; a driver turns that into
`docker stop`, `kubectl delete pod`, and so on. `DockerDriver` drives a Compose project through the
Docker CLI. A Kubernetes driver implements the same methods (see docs/resilience.md):

    replicas        kubectl get pods -l app.kubernetes.io/name=SERVICE -o name
    stop            kubectl delete pod NAME --grace-period=... (preStop, then SIGTERM)
    kill            kubectl delete pod NAME --grace-period=0 --force
    start_service   kubectl scale deploy/SERVICE --replicas=N / rollout status
    rolling_restart kubectl rollout restart deploy/SERVICE (maxUnavailable 0, maxSurge 1)
    pause/unpause   a NetworkPolicy that drops the database's traffic, or tc netem in a debug container
    exec            kubectl exec deploy/SERVICE -- ...
"""

import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class FaultDriver(Protocol):
    """What the drills may do to the stack: every method returns once the action is done."""

    def replicas(self, service: str) -> list[str]:
        """Return the names of the running replicas of a service, oldest first."""

    def stop(self, replica: str, *, grace: float = 30) -> None:
        """Stop one replica gracefully: SIGTERM, then SIGKILL after `grace` seconds."""

    def kill(self, replica: str) -> None:
        """Kill one replica at once (SIGKILL): no drain, no cleanup."""

    def start(self, replica: str) -> None:
        """Start a stopped or killed replica again."""

    def stop_service(self, service: str) -> None:
        """Stop every replica of a service (a dependency outage)."""

    def start_service(self, service: str) -> None:
        """Start the service's replicas again and wait until they are healthy."""

    def restart(self, replica: str) -> None:
        """Restart one replica (SIGTERM, then start)."""

    def rolling_restart(self, service: str, *, before_stop=None) -> None:
        """Replace every replica, one at a time: a new one ready before an old one stops.

        `before_stop(old_replica)` runs just before each old replica is told to stop.
        """

    def pause(self, service: str) -> None:
        """Freeze a service's processes (a database that stops answering, connections stay open)."""

    def unpause(self, service: str) -> None:
        """Let a paused service run again."""

    def exec(self, service: str, command: Sequence[str], *, timeout: float = 30) -> str:
        """Run a command in (the first replica of) a service and return its output."""

    def address(self, replica: str) -> str:
        """Return the replica's address on the stack's network."""

    def wait_healthy(self, *, timeout: float = 120) -> None:
        """Wait until every replica of every service is running and healthy."""

    def restore(self) -> None:
        """Bring the stack back to its declared state (every replica up and healthy)."""

    def restart_counts(self) -> dict[str, int]:
        """Return how often each replica was restarted by its restart policy (crash loops)."""

    def logs(self, replica: str, *, since: float) -> str:
        """Return what a replica logged since a Unix time."""


# resolver valid=5s in gateway/templates/gateway.conf.template, plus a second.
GATEWAY_RESOLVE_SECONDS = 6


class DriverError(RuntimeError):
    """A driver command failed."""


@dataclass
class DockerDriver:
    """Drive a Compose project (COMPOSE_PROJECT_NAME / COMPOSE_FILE from the environment)."""

    project: str = "polls-chaos"
    compose: Sequence[str] = ("docker", "compose")

    def _run(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise DriverError(f"{' '.join(args)}: no answer within {timeout:g} s") from error
        if check and done.returncode != 0:
            raise DriverError(f"{' '.join(args)} failed: {done.stderr.strip()[-800:]}")
        return done.stdout

    def _docker(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        return self._run("docker", *args, timeout=timeout, check=check)

    def _compose(self, *args: str, timeout: float = 300) -> str:
        return self._run(*self.compose, "--project-name", self.project, *args, timeout=timeout)

    def _containers(self, service: str, *, all_states: bool = False) -> list[dict]:
        args = ["ps", "--format", "{{json .}}", "--filter", f"label=com.docker.compose.project={self.project}",
                "--filter", f"label=com.docker.compose.service={service}"]
        if all_states:
            args.insert(1, "--all")
        rows = [json.loads(line) for line in self._docker(*args).splitlines() if line.strip()]
        return sorted(rows, key=lambda row: row["CreatedAt"])

    def replicas(self, service: str) -> list[str]:
        return [row["Names"] for row in self._containers(service)]

    def stop(self, replica: str, *, grace: float = 30) -> None:
        self._docker("stop", "--time", str(int(grace)), replica, timeout=grace + 30)

    def kill(self, replica: str) -> None:
        self._docker("kill", "--signal", "KILL", replica)

    def start(self, replica: str) -> None:
        self._docker("start", replica)

    def stop_service(self, service: str) -> None:
        self._compose("stop", service)

    def start_service(self, service: str) -> None:
        self._compose("start", service)
        self.wait_healthy()

    def restart(self, replica: str) -> None:
        self._docker("restart", "--time", "30", replica, timeout=90)

    def rolling_restart(self, service: str, *, before_stop=None) -> None:
        old = self.replicas(service)
        for count, replica in enumerate(old):
            # Surge one new replica (maxSurge 1), wait until it is healthy, then retire one old one
            # (maxUnavailable 0): the service never has fewer ready replicas than it started with.
            self._compose("up", "--detach", "--wait", "--no-recreate", "--no-deps",
                          "--scale", f"{service}={len(old) + 1}", service)
            # The gateway re-resolves service names every 5 s (resolver valid=5s): give it time to
            # add the new replica before an old one goes, as endpoint propagation does in Kubernetes.
            time.sleep(GATEWAY_RESOLVE_SECONDS)
            if before_stop is not None:
                before_stop(replica)
            self.stop(replica)
            self._docker("rm", replica)
        # Leave the declared number of replicas, now all new.
        self.wait_healthy()

    def pause(self, service: str) -> None:
        for replica in self.replicas(service):
            self._docker("pause", replica)

    def unpause(self, service: str) -> None:
        for row in self._containers(service, all_states=True):
            if "Paused" in row["Status"]:
                self._docker("unpause", row["Names"])

    def exec(self, service: str, command: Sequence[str], *, timeout: float = 30) -> str:
        replica = self.replicas(service)[0]
        return self._docker("exec", replica, *command, timeout=timeout)

    def address(self, replica: str) -> str:
        networks = json.loads(self._docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", replica))
        return next(iter(networks.values()))["IPAddress"]

    def wait_healthy(self, *, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            rows = [json.loads(line) for line in self._docker(
                "ps", "--all", "--format", "{{json .}}",
                "--filter", f"label=com.docker.compose.project={self.project}").splitlines() if line.strip()]
            waiting = [row["Names"] for row in rows
                       if "-migrate-" not in row["Names"] and (row["State"] != "running" or "starting" in row["Status"]
                                                              or "unhealthy" in row["Status"])]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise DriverError(f"not healthy after {timeout:g} s: {', '.join(sorted(waiting))}")
            time.sleep(1)

    def restore(self) -> None:
        # Unfreeze first (compose cannot stop or start a paused container), then start whatever is
        # stopped and bring the replica counts back to what the compose files declare.
        paused = self._docker("ps", "--quiet", "--filter", f"label=com.docker.compose.project={self.project}",
                              "--filter", "status=paused").split()
        for container in paused:
            self._docker("unpause", container)
        self._compose("up", "--detach", "--wait", "--remove-orphans", timeout=300)
        self.wait_healthy()

    def restart_counts(self) -> dict[str, int]:
        names = self._docker("ps", "--all", "--quiet", "--filter",
                             f"label=com.docker.compose.project={self.project}").split()
        if not names:
            return {}
        rows = json.loads(self._docker("inspect", *names))
        return {row["Name"].lstrip("/"): row["RestartCount"] for row in rows}

    def logs(self, replica: str, *, since: float) -> str:
        """Return what a replica logged since a Unix time (stdout and stderr)."""
        done = subprocess.run(["docker", "logs", "--since", f"{since:.3f}", replica],
                              capture_output=True, text=True, timeout=30)
        return done.stdout + done.stderr
