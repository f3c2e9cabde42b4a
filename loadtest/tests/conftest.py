"""Fixtures the drills share (test_drills.py, test_release_drill.py), and a bench result for the report tests."""

import os

import pytest

from polls_loadtest.drills.site import Site
from polls_loadtest.stack import Stack

# Set by `make chaos-test` and `make release-test` (part of `make test`): there, a missing stack is a
# failure, not a skip.
REQUIRED = os.environ.get("CHAOS_REQUIRED") == "1"


def running_site(name: str) -> Site:
    """The named stack (loadtest/compose/stacks.mk) as a Site, if it is the one exported and it runs."""
    stack = Stack.from_environment(name)
    missing = None
    if stack.project != Stack.named(name).project:
        missing = f"this drill runs only against the {Stack.named(name).project} compose project"
    elif not stack.replicas("gateway"):
        missing = f"the {stack.project} stack is not running: `make {'chaos' if name == 'chaos' else 'release-drill'}`"
    if missing:
        pytest.fail(missing) if REQUIRED else pytest.skip(missing)
    return Site(stack)


@pytest.fixture(scope="module")
def site():
    """The polls-chaos stack, up and seeded (`make chaos` brings it up)."""
    return running_site("chaos")


@pytest.fixture(scope="module")
def release_site():
    """The polls-release stack, up and seeded (`make release-test` brings it up)."""
    return running_site("release")


@pytest.fixture
def bench_result():
    """Return a function that wraps phases' figures in a bench result as the bench's cli writes it
    (the report's header reads the rest)."""

    def around(phases: dict) -> dict:
        return {
            "started_at": "2026-12-01T09:30:00+00:00",
            "seconds": 200,
            "machine": {"cores": 2, "cpu_model": "x", "memory_gb": 8, "kernel": "6", "load_average": [0.5, 0.5, 0.5]},
            "load_after": [1, 1, 1],
            "versions": {},
            "phases": phases,
        }

    return around
