"""Sign-up attempts are limited per client address (SIGNUP_THROTTLE): 429 + Retry-After, no user."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"


def _signup(username: str, address: str, password2: str = "mismatch-123"):
    body = {"username": username, "password1": PASSWORD, "password2": password2}
    return Client().post(SIGNUP, body, HTTP_X_FORWARDED_FOR=address)


def _rate() -> int:
    return int(settings.SIGNUP_THROTTLE.split("/")[0])


def test_sign_up_attempts_past_the_limit_get_429_and_create_no_user():
    answers = [_signup(f"try{n}", f"198.51.100.{n}, 203.0.113.5").status_code for n in range(_rate())]

    refused = _signup("newcomer", "198.51.100.99, 203.0.113.5", password2=PASSWORD)

    assert answers == [200] * _rate(), "a rejected form is shown again until the limit"
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many sign-up attempts" in refused.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_another_address_can_still_sign_up():
    for n in range(_rate()):
        _signup(f"try{n}", "203.0.113.6")

    response = _signup("newcomer", "203.0.113.7", password2=PASSWORD)

    assert response.status_code == 303
    assert get_user_model().objects.filter(username="newcomer").exists()


def test_showing_the_form_is_not_counted():
    for _ in range(_rate() + 1):
        assert Client().get(SIGNUP, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200

    assert _signup("newcomer", "203.0.113.8", password2=PASSWORD).status_code == 303
