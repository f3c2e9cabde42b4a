"""Failure drills as tests: each knocks part of the polls-chaos stack out under load (issue: failure drills).

Run with `make chaos-test` (marker `chaos`). They need the drill stack (STACK_CHAOS_* in
loadtest/compose/stacks.mk), up and seeded: `make chaos` brings it up. Traffic goes only to its
gateway and the stack's own containers; every drill is bounded in time and restores the stack in
`finally`, pass or fail.
"""

import os
from pathlib import Path

import pytest

from polls_loadtest import REPORTS
from polls_loadtest.drills import report
from polls_loadtest.drills.drills import DRILLS
from polls_loadtest.drills.runner import run_drill

pytestmark = pytest.mark.chaos

REPORT = Path(os.environ.get("CHAOS_REPORT", REPORTS / "chaos-test"))


@pytest.fixture(scope="module")
def results():
    collected = []
    yield collected
    if collected:
        report.write(collected, REPORT, started_at="pytest")


@pytest.mark.parametrize("name", list(DRILLS))
def test_drill(name, site, results):
    """The drill's criterion holds: see docs/resilience.md for what each drill does and why it passes."""
    try:
        result = run_drill(DRILLS[name], site)
    finally:
        site.stack.restore()  # run_drill restores too; this also covers an interrupted drill
    results.append(result)
    failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
    assert result.passed, f"{name}: {result.error or ''}{'; '.join(failed)}"
