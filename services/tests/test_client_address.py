"""The client address: the right-most X-Forwarded-For entry (the gateway's), never a forged one."""

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from runtime.client_address import client_address
from tests.factories import PASSWORD, UserFactory


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("forged, 203.0.113.7", "203.0.113.7"),
        ("198.51.100.1,203.0.113.7", "203.0.113.7"),
        ("1.2.3.4, 5.6.7.8,  2001:db8::1 ", "2001:db8::1"),
        ("203.0.113.7, not-an-address", "10.0.0.9"),
        ("203.0.113.7, ", "10.0.0.9"),
        ("", "10.0.0.9"),
    ],
)
def test_the_client_address_is_the_right_most_forwarded_entry_if_it_is_an_address(forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_without_forwarded_header_the_peer_address_is_the_client():
    assert client_address(RequestFactory().get("/", REMOTE_ADDR="10.0.0.9")) == "10.0.0.9"


@pytest.mark.django_db
def test_an_api_throttle_keys_on_the_real_address_whatever_the_forged_part(settings):
    """Past the "login" rate, a new forged left part gets no fresh limit; another client does."""
    user = UserFactory()
    client = APIClient()

    def token_request(forwarded: str) -> int:
        body = {"username": user.username, "password": PASSWORD}
        return client.post("/api/auth/token/", body, format="json", HTTP_X_FORWARDED_FOR=forwarded).status_code

    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    answers = [token_request(f"198.51.100.{n}, 203.0.113.7") for n in range(rate)]

    assert answers == [200] * rate
    assert token_request("198.51.100.250, 203.0.113.7") == 429
    assert token_request("203.0.113.7") == 429
    assert token_request("203.0.113.7, 203.0.113.8") == 200, "another client is not limited"
