"""The gateway's login limit, the outer layer in front of Django's.

The image's own defaults, the production ones: GATEWAY_LOGIN_RATE 10r/m and
GATEWAY_LOGIN_BURST 20, so one address gets 21 login POSTs at once (the first plus the burst)
and then one every 6 s.
"""

import itertools

import pytest

LOGIN_PATHS = ["/accounts/login/", "/accounts/signup/", "/admin/login/", "/api/auth/token/"]
AT_ONCE = 21  # the first attempt plus GATEWAY_LOGIN_BURST
_numbers = itertools.count(1)


@pytest.fixture
def gateway(lab):
    """Return a fresh gateway with the default limits (its login bucket is full)."""
    gateway = lab.start_gateway(f"login-{next(_numbers)}")
    yield gateway
    lab.remove(gateway)


def post_login(gateway, path="/accounts/login/", headers=None):
    return gateway.request("POST", path, headers, body=b"username=a&password=b")


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_login_posts_past_the_burst_get_429_with_retry_after(gateway, path):
    """Each login path: 21 POSTs pass, the next gets a short 429 with Retry-After."""
    statuses = [post_login(gateway, path).status for _ in range(AT_ONCE)]
    refused = post_login(gateway, path)
    assert statuses == [200] * AT_ONCE
    assert refused.status == 429
    assert refused.headers["retry-after"] == "6"
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.body == b"too many login attempts from this address: retry in 6 s\n"


def test_limit_is_shared_by_all_login_paths_and_their_spellings(gateway):
    """One bucket per address for every login path, however the path is spelled."""
    for i in range(AT_ONCE):
        assert post_login(gateway, LOGIN_PATHS[i % len(LOGIN_PATHS)]).status == 200
    for path in LOGIN_PATHS + [
        "//accounts//login/",
        "/accounts/%6Cogin/",
        "/api/auth/token",
        "/admin/login/?next=/admin/",
    ]:
        assert post_login(gateway, path).status == 429, path


def test_other_paths_forms_and_clients_are_not_limited(gateway):
    """While one address is refused: its GETs of the forms, its other POSTs and other clients pass."""
    for _ in range(AT_ONCE + 1):
        post_login(gateway)
    assert post_login(gateway).status == 429
    assert gateway.request("GET", "/accounts/login/").status == 200
    assert gateway.request("POST", "/api/polls/1/vote/", body=b"{}").status == 200
    assert gateway.request("POST", "/polls/1/vote/", body=b"choice=1").status == 200
    assert gateway.request_from_client("POST", "/accounts/login/").status == 200


def test_showing_the_forms_is_not_counted(gateway):
    """GETs of the login form never use up attempts."""
    for _ in range(AT_ONCE + 10):
        assert gateway.request("GET", "/accounts/login/").status == 200
    assert post_login(gateway).status == 200


def test_forged_forwarded_for_does_not_reset_the_limit(gateway):
    """A new X-Forwarded-For on every attempt is still the same client at the edge."""
    statuses = [post_login(gateway, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status for i in range(AT_ONCE + 3)]
    assert statuses[:AT_ONCE] == [200] * AT_ONCE
    assert statuses[AT_ONCE:] == [429] * 3


def test_no_retry_after_on_ordinary_answers(gateway):
    """Retry-After is the gateway's 429 only."""
    assert "retry-after" not in gateway.request("GET", "/polls/").headers
    assert "retry-after" not in post_login(gateway).headers
