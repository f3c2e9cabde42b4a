"""Crafted requests through the gateway, over every route of web and api: never a 5xx or a traceback.

The battery of tests/hostile.py, sent as a browser and an API client would: keep-alive, with the
session and CSRF cookies of a logged-in superuser (so admin pages and login-only views are reached)
and an API token. Afterwards the login lockouts and throttle counters this client tripped are
cleared, so later tests and load runs from the same address start clean.
"""

import json
import time
import uuid

import pytest
import requests

from tests import hostile
from tests.e2e.conftest import BASE_URL, compose

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 600  # the whole battery; it usually takes about a minute


def _shell(script: str) -> str:
    output = compose("exec", "-T", "web", "python", "manage.py", "shell", "-c", script)
    return output.strip().splitlines()[-1]


def _rows() -> list[int]:
    return json.loads(
        _shell(
            "import json; from django.contrib.auth import get_user_model; "
            "from domain.models import Choice, Poll, Vote; "
            "print(json.dumps([m.objects.count() for m in (get_user_model(), Poll, Choice, Vote)]))"
        )
    )


@pytest.fixture
def superuser_session(gateway, api_token):
    """A browser session of a new superuser, logged in through the admin login, plus an API token."""
    username, password = f"e2e-admin-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    _shell(
        f"from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser({username!r}, None, {password!r}); print('ok')"
    )
    session = requests.Session()
    session.get(f"{BASE_URL}/admin/login/", timeout=10).raise_for_status()
    login = session.post(
        f"{BASE_URL}/admin/login/?next=/admin/",
        timeout=10,
        allow_redirects=False,
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
    )
    assert login.status_code == 302, login.text[:300]
    session.headers["Authorization"] = f"Token {api_token}"
    yield session
    _forget_this_client()


def _forget_this_client() -> None:
    # The battery fails logins and fills throttles on purpose: clear what it left for this address.
    compose("exec", "-T", "web", "python", "manage.py", "axes_reset")
    compose(
        "exec",
        "-T",
        "redis",
        "sh",
        "-c",
        "redis-cli -n 1 --scan --pattern '*throttle_*' | xargs -r redis-cli -n 1 del >/dev/null",
    )


def _send(session: requests.Session, attempt: hostile.Attempt) -> requests.Response:
    form = None
    if attempt.method == "POST":
        form = {**attempt.form, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")}
    return session.request(attempt.method, BASE_URL + attempt.path, data=form, timeout=30, allow_redirects=False)


def test_hostile_requests_through_the_gateway_never_break_a_service(gateway, api_token, superuser_session):
    poll = gateway.post(
        f"{BASE_URL}/api/polls/",
        timeout=10,
        headers={"Authorization": f"Token {api_token}"},
        json={"question": "Hostile?", "choices": ["Yes", "No"], "closes_at": "2099-01-01T00:00:00Z"},
    ).json()
    export = gateway.post(
        f"{BASE_URL}/api/exports/",
        json={"poll_id": poll["id"]},
        timeout=10,
        headers={"Authorization": f"Token {api_token}"},
    ).json()
    routes = hostile.every_route("tests.urls")
    attempts = hostile.sweep(routes, valid_ids=sorted({str(poll["id"]), str(export["id"])}))
    attempts += hostile.form_battery(poll_id=poll["id"], choice_id=poll["choices"][0]["id"])
    before = _rows()

    broken, statuses, started = [], {}, time.monotonic()
    for attempt in attempts:
        assert time.monotonic() - started < DEADLINE_SECONDS, f"the battery took over {DEADLINE_SECONDS}s"
        response = _send(superuser_session, attempt)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if hostile.looks_broken(response.status_code, response.content):
            broken.append(f"{attempt} -> {response.status_code} {response.text[:120]!r}")
    anonymous = requests.Session()
    for attempt in hostile.form_battery(poll_id=poll["id"], choice_id=poll["choices"][0]["id"]):
        response = _send(anonymous, attempt)
        if hostile.looks_broken(response.status_code, response.content):
            broken.append(f"{attempt} (anonymous) -> {response.status_code}")

    print(f"{len(attempts)} hostile requests in {time.monotonic() - started:.0f}s, statuses {sorted(statuses.items())}")
    assert broken == [], f"{len(broken)} hostile requests broke:\n" + "\n".join(broken[:40])
    assert _rows() == before, "a hostile request wrote a row"
    assert gateway.get(f"{BASE_URL}/api/polls/{poll['id']}/", timeout=10).status_code == 200, "the stack still serves"
