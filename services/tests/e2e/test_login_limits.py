"""Login limits and unsafe starts on the running stack, through the gateway.

The gateway tells web and api the client address (the right-most X-Forwarded-For entry); a
client that sends its own X-Forwarded-For, different each time, must still be counted as one.
Each test clears the lockouts it caused, so later tests and load runs from this address log in.
"""

import uuid

import pytest
import requests

from polls_loadtest.stack import StackError, docker
from tests.e2e.conftest import BASE_URL, compose

pytestmark = pytest.mark.e2e

EXAMPLE_KEY = "CHANGE-ME-50-random-characters"  # k8s/base/secret.example.yaml


@pytest.fixture
def account():
    """A new user with a known password, and the lockouts cleared afterwards."""
    username, password = f"e2e-login-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    compose(
        "exec",
        "-T",
        "web",
        "python",
        "manage.py",
        "shell",
        "-c",
        f"from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({username!r}, password={password!r})",
    )
    yield username, password
    compose("exec", "-T", "web", "python", "manage.py", "axes_reset")


def _limit() -> int:
    out = compose(
        "exec",
        "-T",
        "web",
        "python",
        "-c",
        "import django; django.setup(); from django.conf import settings; print(settings.AXES_FAILURE_LIMIT)",
    )
    return int(out.strip().splitlines()[-1])


def _web_login(username: str, password: str, forged: str) -> requests.Response:
    session = requests.Session()
    session.get(f"{BASE_URL}/accounts/login/", timeout=10).raise_for_status()
    return session.post(
        f"{BASE_URL}/accounts/login/",
        timeout=10,
        allow_redirects=False,
        headers={"X-Forwarded-For": forged, "Accept": "text/html"},
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
    )


def test_forged_forwarded_addresses_do_not_escape_the_web_login_lockout(account):
    username, password = account
    answers = [
        _web_login(f"{username}-other{n}", "wrong", forged=f"198.51.100.{n}").status_code for n in range(_limit())
    ]

    locked = _web_login(username, password, forged="198.51.100.200")

    assert answers[:-1] == [200] * (len(answers) - 1) and answers[-1] == 429
    assert locked.status_code == 429, "a new forged address and the right password: still locked"
    assert int(locked.headers["Retry-After"]) > 0
    assert "sessionid" not in locked.cookies
    assert "Too many attempts" in locked.text


def test_the_api_token_endpoint_locks_an_account_out(account):
    username, password = account
    for n in range(_limit()):
        requests.post(
            f"{BASE_URL}/api/auth/token/",
            json={"username": username, "password": "wrong"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
            timeout=10,
        )

    response = requests.post(
        f"{BASE_URL}/api/auth/token/", json={"username": username, "password": password}, timeout=10
    )

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "token" not in response.json()


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/polls/"])
def test_an_unknown_method_is_a_405(gateway, path):
    assert gateway.request("BREW", f"{BASE_URL}{path}", timeout=10).status_code == 405


def test_seed_refuses_without_the_flag():
    with pytest.raises(StackError, match="--allow-public-password"):
        compose("run", "--rm", "--no-deps", "migrate", "python", "manage.py", "seed", timeout=180)


@pytest.mark.parametrize("service", ["web", "api", "worker"])
def test_a_service_refuses_to_start_with_the_example_secret_key(service):
    """The image's own start command, with the example key: it stops, naming DJANGO_SECRET_KEY."""
    name = f"polls-unsafe-start-{service}-{uuid.uuid4().hex[:6]}"
    try:
        with pytest.raises(StackError, match="DJANGO_SECRET_KEY is the example value"):
            compose("run", "--rm", "--no-deps", "--name", name, "-e", f"DJANGO_SECRET_KEY={EXAMPLE_KEY}", service)
    finally:
        docker("rm", "--force", name, check=False, timeout=60)
