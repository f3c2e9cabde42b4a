"""POST /api/auth/token/: the login limits (django-axes) and the "login" throttle, in JSON."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"


def _token(username: str, password: str, address: str):
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", HTTP_X_FORWARDED_FOR=address
    )


def test_the_right_password_gets_a_token():
    user = UserFactory()

    response = _token(user.username, PASSWORD, "203.0.113.1")

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}


def test_repeated_failures_lock_out_the_account_and_the_right_password_gets_no_token(settings):
    user = UserFactory()
    answers = [
        _token(user.username, "wrong", f"203.0.113.{10 + n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)
    ]

    response = _token(user.username, PASSWORD, "203.0.113.99")

    assert answers == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert response.status_code == 429
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert "Too many failed login attempts" in response.json()["detail"]
    assert not Token.objects.filter(user=user).exists()


def test_failures_from_one_address_lock_it_out_for_every_username(settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _token(f"guess{n}", "wrong", "203.0.113.20")
    user = UserFactory()

    assert _token(user.username, PASSWORD, "198.51.100.1, 203.0.113.20").status_code == 429
    assert _token(user.username, PASSWORD, "203.0.113.21").status_code == 200


def test_the_login_throttle_counts_every_attempt_per_address(settings):
    """Right passwords too: the throttle bounds token requests, axes bounds failures."""
    user = UserFactory()
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    answers = [_token(user.username, PASSWORD, "203.0.113.30").status_code for _ in range(rate + 1)]

    assert answers == [200] * rate + [429]
    throttled = _token(user.username, PASSWORD, "203.0.113.30")
    assert 0 < int(throttled["Retry-After"]) <= 60
