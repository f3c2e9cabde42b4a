"""Helpers for end-to-end tests: the running compose stack, reached only through the gateway.

Traffic goes to 127.0.0.1 (the gateway's published port) and nowhere else; every loop is
bounded in count and time.
"""

import json
import uuid

import pytest
import requests

from polls_loadtest.stack import Stack
from polls_loadtest.stack.compose import REPO  # noqa: F401 - the tests that read the repository's files
from tests.waiting import wait_for

# The test stack (loadtest/compose/stacks.mk), or the one the Makefile exported.
STACK = Stack.from_environment("test")
BASE_URL = STACK.target


def compose(*args: str, check: bool = True, timeout: float = 300, without: tuple[str, ...] = ()) -> str:
    """Run `docker compose ARGS` on the test stack and return its stdout.

    `without`: environment variables to leave out, e.g. those only make exports.
    """
    return STACK.compose(*args, check=check, timeout=timeout, without=without)


def replicas(service: str) -> dict[str, str]:
    """Return {hostname: container id} of the running replicas of a service."""
    return {c.id[:12]: c.id for c in STACK.containers(service)}


def scale(service: str, count: int) -> None:
    STACK.scale(service, count)


@pytest.fixture(scope="session")
def gateway() -> requests.Session:
    """A keep-alive HTTP session to the gateway (as browsers and load tools use)."""
    session = requests.Session()
    wait_for(lambda: _healthy(session), 60, "the gateway")
    return session


def _healthy(session) -> bool:
    try:
        return session.get(f"{BASE_URL}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="session")
def api_token() -> str:
    """Create a throw-away user inside the stack and return an API token for it."""
    username = f"e2e-{uuid.uuid4().hex[:10]}"
    script = (
        "import json; from django.contrib.auth import get_user_model; "
        "from rest_framework.authtoken.models import Token; "
        f"u = get_user_model().objects.create_user({username!r}); "
        "print(json.dumps({'token': Token.objects.create(user=u).key}))"
    )
    output = compose("exec", "-T", "api", "python", "manage.py", "shell", "-c", script)
    return json.loads(output.strip().splitlines()[-1])["token"]
