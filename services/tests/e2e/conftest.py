"""Helpers for end-to-end tests: the running compose stack, reached only through the gateway.

Traffic goes to 127.0.0.1 (the gateway's published port) and nowhere else; every loop is
bounded in count and time.
"""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
BASE_URL = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '18080')}"


def compose(*args: str, check: bool = True, timeout: float = 300, without: tuple[str, ...] = ()) -> str:
    """Run `docker compose ARGS` on the project's stack and return its stdout.

    `without`: environment variables to leave out, e.g. those only make exports.
    """
    env = {key: value for key, value in os.environ.items() if key not in without}
    env.setdefault("COMPOSE_FILE", "docker-compose.yml:docker-compose.test.yml:docker-compose.load.yml")
    env.setdefault("COMPOSE_PROJECT_NAME", "polls-test")
    result = subprocess.run(
        ["docker", "compose", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker compose {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def replicas(service: str) -> dict[str, str]:
    """Return {hostname: container id} of the running replicas of a service."""
    ids = compose("ps", "--quiet", "--status", "running", service).split()
    return {container_id[:12]: container_id for container_id in ids}


def scale(service: str, count: int) -> None:
    compose("up", "--detach", "--wait", "--no-recreate", "--scale", f"{service}={count}", service)




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
