"""`make up` in a second clone (or after `git clean -fdx`) meets data it has no password for.

The stack's PostgreSQL volume belongs to the compose project, secrets.env to the clone. A clone
without secrets.env must stop before it writes a new password or starts anything, say why and
the ways out; `make reset` (after confirming) is one of them. Real Docker: the project's data
volume is made by compose itself, from this checkout, as `make up` would (through the repository's
compose driver, polls_loadtest.stack).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from polls_loadtest.stack.compose import Stack, docker, process

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
# What `make up` and `make reset` read before they reach compose or the services' code.
CLONE_FILES = ["Makefile", "loadtest/compose/stacks.mk", "docker-compose.yml", "config.env", "tools"]


def run(*args: str, cwd: Path, project: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "CONFIRM"))}
    environment.update(COMPOSE_PROJECT_NAME=project, **env)
    return subprocess.run(
        args, cwd=cwd, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300
    )


def project_containers(stack: Stack) -> dict[str, str]:
    """Return {container name: state} of every container of the compose project, running or not."""
    listed = docker(
        "ps",
        "--all",
        "--filter",
        f"label=com.docker.compose.project={stack.project}",
        "--format",
        "{{.Names}} {{.State}}",
    )
    return dict(line.split() for line in listed.splitlines())


def project_volumes(stack: Stack) -> list[str]:
    return docker("volume", "ls", "--quiet", "--filter", f"label=com.docker.compose.project={stack.project}").split()


@pytest.fixture
def stack_data():
    """A compose project whose postgres container and data volume exist (created, not started)."""
    if process(["docker", "info"]).returncode != 0:
        pytest.skip("Docker does not answer")
    stack = Stack(f"polls-secrets-{uuid.uuid4().hex[:8]}", "docker-compose.yml", port=0)
    stack.compose("up", "--no-start", "--no-build", "postgres")
    try:
        yield stack
    finally:
        stack.down()


@pytest.fixture
def second_clone(tmp_path: Path) -> Path:
    for name in CLONE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp_path / name)
    return tmp_path


def test_make_up_without_secrets_stops_before_anything_and_names_the_ways_out(stack_data, second_clone):
    before = project_containers(stack_data)
    assert set(before.values()) == {"created"}

    up = run("make", "up", cwd=second_clone, project=stack_data.project)

    assert up.returncode != 0
    assert "stopped before starting anything" in up.stderr
    assert "make reset" in up.stderr and "secrets.env" in up.stderr
    # The clone that made the data is named, so the user knows where its secrets.env is.
    assert str(ROOT) in up.stderr
    assert not (second_clone / "secrets.env").exists(), "a new password was written"
    assert project_containers(stack_data) == before, "something was started or removed"
    assert project_volumes(stack_data)


def test_the_data_and_its_secrets_together_pass_the_check(stack_data, second_clone):
    shutil.copy2(ROOT / "secrets.env", second_clone / "secrets.env")

    check = run("tools/check-data-secrets", "secrets.env", cwd=second_clone, project=stack_data.project)

    assert check.returncode == 0, check.stderr


def test_make_reset_asks_first_then_drops_the_data(stack_data, second_clone):
    refused = run("make", "reset", cwd=second_clone, project=stack_data.project)
    assert refused.returncode != 0
    assert "CONFIRM=yes" in refused.stderr
    assert project_volumes(stack_data), "deleted without confirmation"

    reset = run("make", "reset", cwd=second_clone, project=stack_data.project, CONFIRM="yes")

    assert reset.returncode == 0, reset.stderr
    assert project_volumes(stack_data) == []
    assert project_containers(stack_data) == {}
    # With the data gone, make up may write new secrets: the check lets it through.
    assert run("tools/check-data-secrets", "secrets.env", cwd=second_clone, project=stack_data.project).returncode == 0
