"""Fixtures the drills share (test_drills.py, test_release_drill.py)."""

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
