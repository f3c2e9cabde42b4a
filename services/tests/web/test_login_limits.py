"""Login limits on the web and admin logins (django-axes): per address and per username, 429 +
Retry-After, the right password refused while locked out, and still enforced with Redis down."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches
from django.test import Client

import runtime.resilient_cache
from runtime.cooldown import Cooldown
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def _attempt(client: Client, username: str, password: str, address: str, path: str = LOGIN):
    """POST a login form as the gateway forwards it: the client's address right-most."""
    return client.post(
        path,
        {"username": username, "password": password},
        HTTP_X_FORWARDED_FOR=f"192.0.2.66, {address}",
        HTTP_ACCEPT="text/html",
    )


def _fail(times: int, *, username: str, address: str, path: str = LOGIN) -> list[int]:
    return [_attempt(Client(), username, "wrong", address, path).status_code for _ in range(times)]


def test_failures_from_one_address_lock_it_out_even_with_the_right_password(settings):
    user = UserFactory()
    limit = settings.AXES_FAILURE_LIMIT

    answers = _fail(limit - 1, username=user.username, address="203.0.113.10")
    locking = _attempt(Client(), user.username, "wrong", "203.0.113.10")
    client = Client()
    right = _attempt(client, user.username, PASSWORD, "203.0.113.10")

    assert answers == [200] * (limit - 1), "a wrong password shows the form again until the limit"
    assert locking.status_code == 429
    assert right.status_code == 429
    assert right["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert "Too many failed login attempts" in right.content.decode()
    assert SESSION_KEY not in client.session, "no session while locked out"


def test_failures_for_one_username_lock_it_from_every_address(settings):
    """Guessing one account's password from many addresses trips the per-username limit."""
    user = UserFactory()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), user.username, "wrong", f"203.0.113.{20 + n}")
    client = Client()

    response = _attempt(client, user.username, PASSWORD, "203.0.113.99")

    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_failures_from_one_address_lock_out_other_usernames_too(settings):
    """Trying many usernames from one address trips the per-address limit."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), f"someone{n}", "wrong", "203.0.113.30")
    user = UserFactory()

    assert _attempt(Client(), user.username, PASSWORD, "203.0.113.30").status_code == 429
    assert _attempt(Client(), user.username, PASSWORD, "203.0.113.31").status_code == 302, "others log in"


def test_a_new_forged_forwarded_part_does_not_reset_the_limit(settings):
    user = UserFactory()
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            LOGIN, {"username": f"x{n}", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.40"
        )

    response = Client().post(
        LOGIN, {"username": user.username, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.200, 203.0.113.40"
    )

    assert response.status_code == 429


def test_the_admin_login_is_limited_the_same_way(settings):
    user = UserFactory(is_staff=True, is_superuser=True)
    _fail(settings.AXES_FAILURE_LIMIT, username=user.username, address="203.0.113.50", path=ADMIN_LOGIN)
    client = Client()

    response = _attempt(client, user.username, PASSWORD, "203.0.113.50", path=ADMIN_LOGIN)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert SESSION_KEY not in client.session


def test_a_json_client_gets_a_json_lockout(settings):
    _fail(settings.AXES_FAILURE_LIMIT, username="nobody", address="203.0.113.60")

    response = Client().post(
        LOGIN,
        {"username": "nobody", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="203.0.113.60",
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 429
    assert response.json()["retry_after"] == int(response["Retry-After"])


def test_the_limits_hold_while_redis_is_down(settings, monkeypatch):
    """The failure counts live in PostgreSQL: a Redis outage does not open the door."""
    # This test's own cooldown, so the outage it causes does not skip Redis in the next tests.
    monkeypatch.setattr(runtime.resilient_cache, "_cooldown", Cooldown(seconds=2.0))
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    caches["default"].set("probe", 1)
    assert caches["default"].get("probe") is None, "Redis is unreachable"
    user = UserFactory()

    _fail(settings.AXES_FAILURE_LIMIT, username=user.username, address="203.0.113.70")
    client = Client()
    response = _attempt(client, user.username, PASSWORD, "203.0.113.70")

    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_a_successful_login_does_not_clear_the_address_failures(settings):
    """An attacker's own account cannot reset the count between guesses at others."""
    own = UserFactory()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(Client(), f"victim{n}", "wrong", "203.0.113.80")

    assert _attempt(Client(), own.username, PASSWORD, "203.0.113.80").status_code == 302
    assert _attempt(Client(), "victim-last", "wrong", "203.0.113.80").status_code == 429
