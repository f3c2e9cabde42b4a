"""The named compose stacks (loadtest/compose/stacks.mk), which the Makefile and the driver share."""

import pytest

from polls_loadtest.stack import Stack
from polls_loadtest.stack.compose import REPO, named_stacks


def test_every_named_stack_has_its_own_project_and_port_and_existing_files():
    stacks = named_stacks()
    assert {"test", "chaos", "bench"} <= set(stacks)
    assert len({s["project"] for s in stacks.values()}) == len({s["port"] for s in stacks.values()}) == len(stacks)
    for name in stacks:
        stack = Stack.named(name)
        assert stack.files.split(":")[0] == "docker-compose.yml"
        assert all((REPO / path).is_file() for path in stack.files.split(":")), stack.files
        assert stack.target == f"http://127.0.0.1:{stack.port}"


def test_the_environment_the_makefile_exports_wins_over_the_named_stack(monkeypatch):
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "polls-elsewhere")
    monkeypatch.setenv("GATEWAY_PORT", "48080")
    monkeypatch.setenv("PYTHON_IMAGE", "python:3.13-slim")
    for name in ("COMPOSE_FILE", "IMAGE_TAG"):
        monkeypatch.delenv(name, raising=False)
    stack = Stack.from_environment("chaos")
    assert (stack.project, stack.port, stack.files) == ("polls-elsewhere", 48080, Stack.named("chaos").files)
    env = stack.env(without=("PYTHON_IMAGE",))
    assert (env["COMPOSE_PROJECT_NAME"], env["GATEWAY_PORT"], env["IMAGE_TAG"]) == ("polls-elsewhere", "48080", "chaos")
    assert "PYTHON_IMAGE" not in env


def test_an_unknown_stack_is_refused():
    with pytest.raises(KeyError):
        Stack.named("production")
