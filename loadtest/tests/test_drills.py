"""Failure drills as tests: each knocks part of the polls-chaos stack out under load (issue: failure drills).

Run with `make chaos-test` (marker `chaos`). They need the drill stack: COMPOSE_PROJECT_NAME=polls-chaos,
COMPOSE_FILE=docker-compose.yml:docker-compose.load.yml:loadtest/polls_chaos/compose.chaos.yml, gateway on 127.0.0.1:28080,
seeded (`make chaos` brings it up). Traffic goes only to that gateway and the stack's own containers;
every drill is bounded in time and restores the stack in `finally`, pass or fail.
"""

import os
from pathlib import Path

import pytest

from polls_chaos import report
from polls_chaos.drills import DRILLS
from polls_chaos.faults import DockerDriver
from polls_chaos.runner import run_drill
from polls_chaos.stack import Stack

pytestmark = pytest.mark.chaos

TARGET = os.environ.get("CHAOS_TARGET", "http://127.0.0.1:28080")
PROJECT = os.environ.get("COMPOSE_PROJECT_NAME", "polls-chaos")
REPORT = Path(os.environ.get("CHAOS_REPORT", Path(__file__).resolve().parents[1] / "reports" / "chaos-test"))


# Set by `make chaos-test` (part of `make test`): there, a missing stack is a failure, not a skip.
REQUIRED = os.environ.get("CHAOS_REQUIRED") == "1"


@pytest.fixture(scope="module")
def stack():
    missing = None
    if PROJECT != "polls-chaos":
        missing = "the drills run only against the polls-chaos compose project"
    elif not DockerDriver(project=PROJECT).replicas("gateway"):
        missing = "the polls-chaos stack is not running: `make chaos` starts it"
    if missing:
        pytest.fail(missing) if REQUIRED else pytest.skip(missing)
    yield Stack(TARGET, DockerDriver(project=PROJECT))


@pytest.fixture(scope="module")
def results():
    collected = []
    yield collected
    if collected:
        report.write(collected, REPORT, started_at="pytest")


@pytest.mark.parametrize("name", list(DRILLS))
def test_drill(name, stack, results):
    """The drill's criterion holds: see docs/resilience.md for what each drill does and why it passes."""
    try:
        result = run_drill(DRILLS[name], stack)
    finally:
        stack.driver.restore()  # run_drill restores too; this also covers an interrupted drill
    results.append(result)
    failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
    assert result.passed, f"{name}: {result.error or ''}{'; '.join(failed)}"
