"""Release N+1 beside release N on one compose stack: build its images, run its migrate, roll replicas.

Compose replaces a service's containers all at once; Kubernetes rolls a Deployment one pod at a
time. To roll as Kubernetes does (surge 1, unavailable 0), a replica of the new release is started
from the old replica's own container spec (environment, command, network alias, health check,
hardening, labels) with only the image changed, which is what a Deployment's rolling update does
when a release changes the image: the gateway finds it under the same service name, and the stack
driver (polls_loadtest.stack) counts it among the service's replicas. Only docker commands on this
stack's own containers are used.
"""

import json
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from polls_loadtest.stack import Stack
from polls_loadtest.stack.compose import GATEWAY_RESOLVE_SECONDS, REPO, docker, process, run

RELEASE_FILES = REPO / "loadtest" / "release"
# The services a release rolls, one replica at a time, and so the images it builds (beat and
# migrate run worker's; beat is replaced, not rolled: exactly one, ever).
ROLLED = ("web", "api", "worker")
HEALTHY_WITHIN_S = 120


class ReleaseError(RuntimeError):
    """A release could not be built or rolled out; the message names the step."""


@dataclass(frozen=True)
class Release:
    """A release after N: its name (image tag suffix) and the patches that make it from services/."""

    name: str
    title: str
    patches: tuple[str, ...]


def source_tree(patches: tuple[str, ...], folder: Path, *, step: str, services: Path = REPO / "services") -> Path:
    """Copy services/ into `folder` and apply the patches of loadtest/release/ in order; return the copy.

    A patch that no longer applies (services/ moved under it) stops here, naming the step and the
    patch, rather than building a release that is not the one the drill describes.
    """
    shutil.copytree(services, folder / "services", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in patches:
        patch = RELEASE_FILES / name
        # Outside any repository (a temporary folder) git apply is a plain patch tool, relative to -C.
        done = process(["git", "-C", str(folder), "apply", str(patch)], timeout=60)
        if done.returncode != 0:
            raise ReleaseError(
                f"{step}: {patch.relative_to(REPO)} no longer applies to services/ (the code it changes has "
                f"moved). Make the change again on the current tree and write the patch anew "
                f"(loadtest/release/README.md).\n{done.stderr[-2000:]}"
            )
    return folder / "services"


def build(stack: Stack, release: Release) -> str:
    """Build the images of a release (services/ plus its patches) under their own tag; return the tag.

    The tag is the stack's own tag plus the release's name (release-n1...), so nothing retags the
    images any other stack runs.
    """
    tag = f"{stack.image_tag or 'dev'}-{release.name}"
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"polls-{release.name}-") as tmp:
        step = f"release {release.title} ({' + '.join(release.patches)})"
        services = source_tree(release.patches, Path(tmp), step=step)
        # Compose builds them, from docker-compose.yml with only the context moved to the copy: the
        # same build arguments (base images), and the build cache of the stack's own images, so
        # only the layers from the first changed file on are built again.
        override = Path(tmp) / "release.yml"
        override.write_text(json.dumps({"services": {t: {"build": {"context": str(services)}} for t in ROLLED}}))
        print(f"   building {', '.join(f'polls/{t}:{tag}' for t in ROLLED)}")
        done = process(
            ["docker", "compose", "-f", str(REPO / "docker-compose.yml"), "-f", str(override), "build", *ROLLED],
            env={**stack.env(), "IMAGE_TAG": tag},
            timeout=1200,
        )
        if done.returncode != 0:
            raise ReleaseError(
                f"release {release.name}: building its images failed:\n{(done.stdout + done.stderr)[-3000:]}"
            )
    print(f"   release {release.name} built in {time.monotonic() - began:.0f} s")
    return tag


def _inspect(name: str) -> dict:
    return json.loads(docker("inspect", name))[0]


def _run_args(
    spec: dict, image: str, *, name: str, labels: bool, extra_env: dict[str, str], number: int = 0
) -> tuple[list, dict]:
    """Return `docker run` arguments that recreate a container's spec with another image, and the
    environment that carries its variables (values never appear in the command line)."""
    config, host = spec["Config"], spec["HostConfig"]
    image_env = set(json.loads(docker("image", "inspect", "--format", "{{json .Config.Env}}", image)) or [])
    # The container's environment but the image's own ENV, which comes from the new image.
    own = [item.partition("=") for item in config.get("Env") or [] if item not in image_env]
    env = {key: value for key, _, value in own} | extra_env
    network = next(iter(spec["NetworkSettings"]["Networks"]))
    service = config["Labels"].get("com.docker.compose.service", "")
    args = ["--name", name, "--network", network]
    if service:
        args += ["--network-alias", service]
    for key in env:
        args += ["--env", key]
    if labels:
        for key, value in config["Labels"].items():
            if key.startswith("com.docker.compose.") and key != "com.docker.compose.container-number":
                args += ["--label", f"{key}={value}"]
        # Compose numbers a service's containers; these count from 100, clear of its own.
        args += ["--label", f"com.docker.compose.container-number={100 + number}"]
        args += ["--label", f"polls.release={image.rsplit(':', 1)[-1]}"]
    if host.get("ReadonlyRootfs"):
        args.append("--read-only")
    for path, options in (host.get("Tmpfs") or {}).items():
        args += ["--tmpfs", f"{path}:{options}" if options else path]
    for flag, key in (("--cap-drop", "CapDrop"), ("--security-opt", "SecurityOpt")):
        args += [arg for value in host.get(key) or [] for arg in (flag, value)]
    if host.get("Memory"):
        args += ["--memory", str(host["Memory"])]
    if host.get("NanoCpus"):
        args += ["--cpus", f"{host['NanoCpus'] / 1e9:g}"]
    if config.get("StopTimeout") is not None:
        args += ["--stop-timeout", str(config["StopTimeout"])]
    check = config.get("Healthcheck") or {}
    test = check.get("Test") or []
    if test and test[0] in ("CMD", "CMD-SHELL"):
        args += ["--health-cmd", shlex.join(test[1:]) if test[0] == "CMD" else test[1]]
        for option, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod")):
            args += [f"--health-{option}", f"{(check.get(key) or 0) / 1e9:g}s"]  # nanoseconds
        args += ["--health-retries", str(check.get("Retries") or 3)]
    if config.get("Entrypoint"):
        args += ["--entrypoint", config["Entrypoint"][0]]
    return [*args, image, *(config["Entrypoint"] or [])[1:], *(config.get("Cmd") or [])], env


def start_like(spec: dict, image: str, *, name: str, number: int = 1, extra_env: dict[str, str] | None = None) -> str:
    """Start a replica of `image` with a container's spec (`docker inspect`): same service, network
    alias, environment, health check and hardening."""
    restart = spec["HostConfig"].get("RestartPolicy", {}).get("Name") or "no"
    args, env = _run_args(spec, image, name=name, labels=True, extra_env=extra_env or {}, number=number)
    run(["docker", "run", "--detach", "--restart", restart, *args], env={**os.environ, **env}, timeout=120)
    return name


def image_of(container: str) -> str:
    """Return the image name a container was started from (polls/web:release-n1...)."""
    return docker("inspect", "--format", "{{.Config.Image}}", container).strip()


def wait_healthy(name: str) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while True:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name))
        health = (state.get("Health") or {}).get("Status", "healthy" if state.get("Running") else "")
        if state.get("Running") and health == "healthy":
            return
        if not state.get("Running") or time.monotonic() > deadline:
            logs = run(["docker", "logs", "--tail", "30", name], check=False, timeout=30)
            raise ReleaseError(f"{name} did not become healthy ({state.get('Status')}, {health}):\n{logs[-2000:]}")
        time.sleep(1)


def retire(stack: Stack, replica: str) -> None:
    """Stop a replica gracefully (its own stop timeout: drain, warm shutdown) and remove it."""
    grace = _inspect(replica)["Config"].get("StopTimeout") or 30
    stack.stop(replica, grace=grace)
    docker("rm", replica)


def roll(stack: Stack, service: str, image: str, *, release: str, mark: Callable[[str], None]) -> None:
    """Replace every replica of a service by one of `image`, one at a time (surge 1, unavailable 0)."""
    old = stack.replicas(service)
    if not old:
        raise ReleaseError(f"release {release}: no running replica of {service} to roll")
    for number, replica in enumerate(old, 1):
        new = start_like(_inspect(replica), image, name=f"{stack.project}-{service}-{release}-{number}", number=number)
        wait_healthy(new)
        if service in ("web", "api"):
            # The gateway re-resolves service names every 5 s: let it add the new replica before an
            # old one goes, as endpoint propagation does in Kubernetes (Stack.rolling_restart too).
            time.sleep(GATEWAY_RESOLVE_SECONDS)
        retire(stack, replica)
        mark(f"{service}: {replica.removeprefix(stack.project + '-')} -> {release}")


def replace_beat(stack: Stack, image: str, *, release: str, extra_env: dict[str, str] | None = None) -> None:
    """Replace beat, which runs exactly once: the old one stops before the new one starts (Recreate)."""
    (old,) = stack.replicas("beat")
    spec = _inspect(old)
    retire(stack, old)
    wait_healthy(start_like(spec, image, name=f"{stack.project}-beat-{release}", extra_env=extra_env))


def migrate(stack: Stack, image: str, *, release: str) -> float:
    """Run the release's migrate (the locked command) in a one-off container with the spec of the
    stack's own migrate container, to completion; return how long it took."""
    began = time.monotonic()
    spec = _inspect(f"{stack.project}-migrate-1")
    args, env = _run_args(spec, image, name=f"{stack.project}-migrate-{release}", labels=False, extra_env={})
    done = process(["docker", "run", "--rm", *args], env={**os.environ, **env}, timeout=600)
    if done.returncode != 0:
        raise ReleaseError(
            f"release {release}: migrate exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}"
        )
    return time.monotonic() - began


def remove_release_containers(stack: Stack) -> None:
    """Remove what the drill started (its replicas carry the label polls.release), so that the
    stack's own `compose up` brings back the declared services."""
    ids = stack.ps("--all", "--quiet", "--filter", "label=polls.release").split()
    if ids:
        docker("rm", "--force", *ids, timeout=120)
