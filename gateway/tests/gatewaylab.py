"""Run the gateway image under test on a docker network of its own, with fake upstreams.

A Lab owns everything it creates (one network, its containers, all named after the lab) and
removes it all in `close()`. Traffic goes only to the lab's own containers: the host reaches
them on their network addresses, so the gateway sees the host as one client (the network's
bridge address) and a `client` container as another.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parent
GATEWAY = TESTS.parent
REPO = GATEWAY.parent
HARDENING = ("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")


def base_images() -> dict[str, str]:
    """Return the base images: the environment's, else those .env names (tools/ensure-base-images), else official."""
    images = {"NGINX_IMAGE": "nginx:1.30", "PYTHON_IMAGE": "python:3.13"}
    env_file = REPO / ".env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, _, value = line.partition("=")
            if name in images and value:
                images[name] = value.strip()
    return {name: os.environ.get(name) or value for name, value in images.items()}


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    """Run a docker command and return its stdout."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}... failed: {result.stderr.strip()}")
    return result.stdout.strip()


def build_gateway_image(tag: str) -> str:
    """Build gateway/ into `tag` with the project's NGINX_IMAGE and return the tag."""
    docker(
        "build",
        "--quiet",
        "--build-arg",
        f"NGINX_IMAGE={base_images()['NGINX_IMAGE']}",
        "-t",
        tag,
        str(GATEWAY),
        timeout=600,
    )
    return tag


@dataclass(frozen=True)
class ComposeLimits:
    """The gateway's memory limit and /tmp size as docker-compose.yml sets them."""

    memory: str
    tmpfs: str

    @classmethod
    def read(cls) -> ComposeLimits:
        """Read them from docker-compose.yml: the test runs what compose runs."""
        gateway = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["gateway"]
        return cls(memory=gateway["deploy"]["resources"]["limits"]["memory"], tmpfs=gateway["tmpfs"][0])


def to_bytes(size: str) -> int:
    """Return the bytes of a compose/Docker size such as 256M, 256m or 128Mi."""
    number, unit = re.fullmatch(r"(\d+)\s*([kmgKMG]?)i?[bB]?", size.strip()).groups()
    return int(number) * 1024 ** " kmg".index(unit.lower() or " ")


@dataclass
class Response:
    """What a client got back."""

    status: int
    headers: dict[str, str]
    body: bytes
    header_lines: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> dict:
        """Return the body parsed as JSON (the fake upstream's echo)."""
        return json.loads(self.body)

    def count(self, name: str) -> int:
        """Return how many times a header came (the dict above keeps only the last)."""
        return sum(1 for line_name, _ in self.header_lines if line_name.lower() == name.lower())


@dataclass
class Gateway:
    """One running gateway container of a lab."""

    lab: Lab
    name: str
    ip: str

    def request(
        self, method: str, path: str, headers: dict | list | None = None, body: bytes | None = None, timeout: float = 10
    ) -> Response:
        """Send one request from the host (one client address) and return the answer."""
        conn = http.client.HTTPConnection(self.ip, 8080, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            items = headers.items() if isinstance(headers, dict) else headers or []
            for name, value in items:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            answer = conn.getresponse()
            return Response(
                answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read(), answer.getheaders()
            )
        finally:
            conn.close()

    def request_from_client(self, method: str, path: str, headers: dict | None = None) -> Response:
        """Send one request from the lab's `client` container (another client address)."""
        out = docker(
            "exec",
            self.lab.client,
            "python3",
            "/lab/probe.py",
            method,
            f"http://{self.ip}:8080{path}",
            json.dumps(headers or {}),
            timeout=30,
        )
        answer = json.loads(out)
        return Response(answer["status"], answer["headers"], answer["body"].encode())

    def logs(self) -> str:
        """Return the container's output (the JSON access log and nginx's errors)."""
        return subprocess.run(["docker", "logs", self.name], capture_output=True, text=True, timeout=30).stdout

    def access_log(self) -> list[dict]:
        """Return the JSON access log lines, parsed (nginx's error lines are left out)."""
        return [json.loads(line) for line in self.logs().splitlines() if line.startswith("{")]

    def wait_for_log(self, match: Callable[[dict], bool], count: int = 1, seconds: float = 5) -> list[dict]:
        """Return the access log lines that `match`, once there are `count` (or `seconds` have
        passed): docker's log lags a little behind the gateway's."""
        deadline = time.monotonic() + seconds
        while len(lines := [line for line in self.access_log() if match(line)]) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return lines

    def memory(self) -> dict[str, int]:
        """Return the container's memory cgroup figures: usage, peak, limit, failures."""

        def read(*paths: str) -> int | None:
            for path in paths:
                out = docker("exec", self.name, "cat", path, check=False)
                if out and out != "max":
                    return int(out.split()[-1]) if " " in out else int(out)
            return None

        v1 = "/sys/fs/cgroup/memory/memory."
        return {
            "usage": read(f"{v1}usage_in_bytes", "/sys/fs/cgroup/memory.current"),
            "peak": read(f"{v1}max_usage_in_bytes", "/sys/fs/cgroup/memory.peak"),
            "limit": read(f"{v1}limit_in_bytes", "/sys/fs/cgroup/memory.max"),
            "failcnt": read(f"{v1}failcnt") or 0,
        }

    def temp_bytes(self) -> int:
        """Return the bytes used on the container's /tmp (spilled bodies, temp answers)."""
        return int(docker("exec", self.name, "du", "-s", "-B1", "/tmp").split()[0])

    def state(self) -> dict:
        """Return docker's view of the container: running, OOM-killed, restarts."""
        return json.loads(docker("inspect", "-f", "{{json .State}}", self.name))


@dataclass
class Lab:
    """A docker network with fake upstreams, a client container and gateways under test."""

    gateway_image: str
    prefix: str = field(default_factory=lambda: f"gwtest-{uuid.uuid4().hex[:8]}")
    containers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.network = f"{self.prefix}-net"
        docker("network", "create", self.network)
        self.host_ip = docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", self.network)
        self.upstream = self.start_replica("upstream", "web", "api", "static")
        self.client = self.start_idle("client")
        self.client_ip = self.ip_of(self.client)

    def _run(self, name: str, *args: str) -> str:
        container = f"{self.prefix}-{name}"
        self.containers.append(container)
        docker("run", "-d", "--name", container, "--network", self.network, *args)
        return container

    def start_replica(self, name: str, *aliases: str, env: dict[str, str] | None = None) -> str:
        """Run fake_upstream.py as a replica of the services named by `aliases`, hostname `name`."""
        args = ["--hostname", name, "--user", "65534:65534", *HARDENING, "-v", f"{TESTS}:/lab:ro"]
        for alias in aliases:
            args += ["--network-alias", alias]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        return self._run(name, *args, base_images()["PYTHON_IMAGE"], "python3", "/lab/fake_upstream.py")

    def start_idle(self, name: str, *aliases: str) -> str:
        """Run a container that listens on nothing (a client, or a replica that refuses)."""
        args = [arg for alias in aliases for arg in ("--network-alias", alias)]
        return self._run(
            name,
            *args,
            "--user",
            "65534:65534",
            *HARDENING,
            "-v",
            f"{TESTS}:/lab:ro",
            base_images()["PYTHON_IMAGE"],
            "sleep",
            "3600",
        )

    def start_static(self, name: str, alias: str, root: Path) -> str:
        """Run the real static service (services/static/nginx.conf) serving `root` as /srv/static."""
        return self._run(
            name,
            "--network-alias",
            alias,
            "--user",
            "101:101",
            *HARDENING,
            "--tmpfs",
            "/tmp",
            "-v",
            f"{REPO}/services/static/nginx.conf:/etc/nginx/nginx.conf:ro",
            "-v",
            f"{root}:/srv/static:ro",
            base_images()["NGINX_IMAGE"],
        )

    def ip_of(self, container: str) -> str:
        """Return a container's address on the lab's network."""
        return docker(
            "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{self.network}").IPAddress}}}}', container
        )

    def start_gateway(
        self,
        name: str,
        env: dict[str, str] | None = None,
        memory: str | None = None,
        tmpfs: str = "/tmp",
        ready_path: str = "/api/ready",
    ) -> Gateway:
        """Start a gateway as compose runs it (uid 101, read-only, tmpfs /tmp) and wait until
        `ready_path` answers 200 through it."""
        args = ["--user", "101:101", *HARDENING, "--tmpfs", tmpfs]
        if memory:
            args += ["--memory", memory]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        container = self._run(name, *args, self.gateway_image)
        gateway = Gateway(self, container, self.ip_of(container))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if gateway.request("GET", ready_path, timeout=2).status == 200:
                    return gateway
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"gateway {name} did not answer within 20 s:\n{gateway.logs()[-3000:]}")

    def start_failing(self, name: str, env: dict[str, str]) -> tuple[int, str]:
        """Run a gateway that is expected to stop at start-up; return its exit code and output."""
        args = ["--user", "101:101", *HARDENING, "--tmpfs", "/tmp"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        container = self._run(name, *args, self.gateway_image)
        code = docker("wait", container, timeout=30)
        output = subprocess.run(["docker", "logs", container], capture_output=True, text=True, timeout=30)
        return int(code), output.stdout + output.stderr

    def remove(self, container: Gateway | str) -> None:
        """Remove one container (a gateway or a replica) now rather than with the lab."""
        name = container.name if isinstance(container, Gateway) else container
        docker("rm", "-f", name, check=False)
        self.containers.remove(name)

    def close(self) -> None:
        """Remove every container and the network the lab created."""
        if self.containers:
            docker("rm", "-f", *self.containers, check=False)
        docker("network", "rm", self.network, check=False)
