"""The API's rate limits: one counter per client and scope in Redis, failing open without Redis."""

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

import runtime.resilient_cache
from runtime.cooldown import Cooldown
from runtime.drf_throttles import ClientRateThrottle, ScopedRateThrottle
from tests.factories import PollFactory

pytestmark = pytest.mark.django_db


def _counters(scope: str) -> dict[str, int]:
    """Return the throttle counters of a scope in the real Redis cache: {client: count}."""
    cache = caches["default"]
    client = cache._cache.get_client(write=False)
    pattern = cache.make_key(f"throttle:{scope}:*")
    counters = {}
    for raw in client.scan_iter(match=pattern):
        key = raw.decode()
        client_ident = key.split(f"throttle:{scope}:", 1)[1].rsplit(":", 1)[0]
        counters[client_ident] = int(client.get(raw))
    return counters


@pytest.fixture(autouse=True)
def _empty_cache():
    caches["default"].clear()


def test_an_anonymous_read_counts_once_per_request_under_its_address():
    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.40")
    for _ in range(3):
        assert client.get("/api/polls/").status_code == 200

    assert _counters("anon") == {"198.51.100.40": 3}
    assert _counters("user") == {}, "an anonymous request paid for a second counter"


def test_each_counter_expires_with_its_window():
    """The counter gets its expiry with its first count (one script), and keeps it as it counts."""
    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.41")
    cache = caches["default"]
    redis = cache._cache.get_client(write=False)
    for _ in range(2):
        assert client.get("/api/polls/").status_code == 200

    [key] = redis.scan_iter(match=cache.make_key("throttle:anon:198.51.100.41:*"))
    assert 0 < redis.ttl(key) <= 60  # the "anon" rate's window: API_THROTTLE_ANON per minute


def test_a_signed_in_user_counts_under_the_user_not_the_address(user_api, user):
    for _ in range(2):
        assert user_api.get("/api/polls/").status_code == 200

    assert _counters("user") == {f"user-{user.pk}": 2}
    assert _counters("anon") == {}


def test_past_the_rate_the_client_gets_429_with_the_seconds_left_in_the_window(monkeypatch):
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"anon": "3/min"})
    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.41")

    statuses = [client.get("/api/polls/").status_code for _ in range(4)]
    refused = client.get("/api/polls/")

    assert statuses == [200, 200, 200, 429]
    assert 0 < int(refused["Retry-After"]) <= 60
    # Another address has its own counter.
    assert APIClient(HTTP_X_FORWARDED_FOR="198.51.100.42").get("/api/polls/").status_code == 200


def test_a_scope_counts_apart_from_the_client_rate(user_api, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"vote": "1/min"})
    poll = PollFactory()

    first = user_api.post(f"/api/polls/{poll.pk}/vote/", {}, format="json")
    second = user_api.post(f"/api/polls/{poll.pk}/vote/", {}, format="json")

    assert first.status_code == 400  # no choice: counted, then refused by validation
    assert second.status_code == 429
    assert user_api.get("/api/polls/").status_code == 200, "the vote scope limited reads"


def test_while_redis_is_down_requests_are_allowed(settings, monkeypatch):
    """The limits fail open by design: the API keeps serving (PostgreSQL is up)."""
    monkeypatch.setattr(runtime.resilient_cache, "_cooldown", Cooldown(seconds=2.0))
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"anon": "1/min"})
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    assert caches["default"].count_in_window("probe", 60) is None, "Redis is unreachable"

    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.43")
    statuses = [client.get("/api/polls/").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
