"""The API's rate limits: one counter per client and scope in Redis, failing open without Redis."""

import random
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

import runtime.resilient_cache
from runtime import drf_throttles
from runtime.cooldown import Cooldown
from runtime.drf_throttles import ClientRateThrottle, ScopedRateThrottle, WindowRateThrottle
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


@pytest.fixture
def mid_window(monkeypatch):
    """The throttles' clock at 30 s into a minute, so a test's requests never straddle two windows
    (a new window is a new counter: the counts would start again mid-test)."""
    monkeypatch.setattr(drf_throttles, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))


@pytest.fixture
def exact(monkeypatch, mid_window):
    """Rates under 200 per window, which count every request (larger ones are sampled), in one window."""
    monkeypatch.setattr(WindowRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "100/min"})


def test_an_anonymous_read_counts_once_per_request_under_its_address(exact):
    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.40")
    for _ in range(3):
        assert client.get("/api/polls/").status_code == 200

    assert _counters("anon") == {"198.51.100.40": 3}
    assert _counters("user") == {}, "an anonymous request paid for a second counter"


def test_each_counter_expires_with_its_window(exact):
    """The counter gets its expiry with its first count (one script), and keeps it as it counts."""
    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.41")
    cache = caches["default"]
    redis = cache._cache.get_client(write=False)
    for _ in range(2):
        assert client.get("/api/polls/").status_code == 200

    [key] = redis.scan_iter(match=cache.make_key("throttle:anon:198.51.100.41:*"))
    assert 0 < redis.ttl(key) <= 60  # the "anon" rate's window: API_THROTTLE_ANON per minute


def test_a_signed_in_user_counts_under_the_user_not_the_address(user_api, user, exact):
    for _ in range(2):
        assert user_api.get("/api/polls/").status_code == 200

    assert _counters("user") == {f"user-{user.pk}": 2}
    assert _counters("anon") == {}


def test_past_the_rate_the_client_gets_429_with_the_seconds_left_in_the_window(monkeypatch, mid_window):
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


def test_a_large_limit_counts_about_one_request_in_k_as_k_requests(monkeypatch, mid_window):
    """600/min: one request in about 6 reaches Redis, and adds 6; the counter stays a count of
    requests (here within a third of the 120 sent, with this seed)."""
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"anon": "600/min"})
    monkeypatch.setattr(WindowRateThrottle, "sampler", random.Random(11))
    round_trips = []
    count = caches["default"].count_in_window
    monkeypatch.setattr(caches["default"], "count_in_window", lambda *a: round_trips.append(a) or count(*a))
    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.50")

    assert all(client.get("/api/polls/").status_code == 200 for _ in range(120))

    assert drf_throttles.sample_step(600) == 6
    assert 0 < len(round_trips) < 120 / 3
    assert _counters("anon") == {"198.51.100.50": 6 * len(round_trips)}
    assert 80 <= _counters("anon")["198.51.100.50"] <= 160


def test_over_a_sampled_limit_every_request_is_refused_with_no_round_trip(monkeypatch, mid_window):
    """Once this process has seen the client over its limit, it refuses all the client's requests
    until the window ends without asking Redis; another client is not affected."""
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"anon": "200/min"})  # 2 requests per count
    monkeypatch.setattr(WindowRateThrottle, "sampler", random.Random(3))
    client = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.51")
    statuses = [client.get("/api/polls/").status_code for _ in range(400)]
    first_refused = statuses.index(429)

    assert 150 <= first_refused <= 250, "the limit held within a quarter of 200"
    assert set(statuses[first_refused:]) == {429}
    counted = _counters("anon")["198.51.100.51"]
    assert all(client.get("/api/polls/").status_code == 429 for _ in range(20))
    assert _counters("anon")["198.51.100.51"] == counted, "a refused request went to Redis"
    assert APIClient(HTTP_X_FORWARDED_FOR="198.51.100.52").get("/api/polls/").status_code == 200


@pytest.mark.parametrize(("limit", "step"), [(10, 1), (199, 1), (200, 2), (600, 6), (1200, 8), (100000, 8)])
def test_limits_under_200_per_window_count_every_request_and_a_count_stands_for_at_most_8(limit, step):
    assert drf_throttles.sample_step(limit) == step
