"""Rate limits for Django REST Framework views: one Redis counter per client and scope.

DRF's SimpleRateThrottle keeps every request time of the window in one cache value, and reads,
unpickles, rewrites and re-pickles it whole on every request: up to 600 entries per client at
the anon rate, and an anonymous request paid for two such values (DRF's anon and user throttles
both key on the address). Profiled, that was about half the CPU of a cached API read. These
count instead: a fixed window per client and scope, one INCR (with its expiry) per request, in a
single round trip (runtime.resilient_cache.ResilientRedisCache.count_in_window). A fixed window
lets a client send up to twice the rate across a window boundary; for an abuse limit that is
the accepted trade (the gateway's limit_req smooths bursts in front of it).

Large limits are counted by sampling. The Redis round trip was a third of a cached read's CPU
(the bench's trials phase: 0.94 against 0.58 ms with the throttles off), and a client only comes
near a limit of hundreds per window by sending hundreds of requests. So with a limit of L per
window, a request is counted with probability 1/k, as k requests (k = L // 100, at most
MAX_SAMPLE_STEP; limits under 200 count every request exactly). The count stays unbiased, and a
client reaches its limit within about sqrt(k/L) of it (+-10 % at 600/min). Once a process sees a
client over its limit it refuses that client's every request until the window ends, with no
round trip; each other process learns on its next counted request from that client, so the
limit can be passed by about k requests per process (processes x k; with 20 processes and k = 6,
120 over 600). The fixed window already lets a client send twice the rate across a boundary.

Clients are keyed on runtime.client_address, the one definition of a client's address (also
used by the login lockouts and the sign-up limit), or on the user id when authenticated.
Counters live in the shared Redis cache, so a limit holds across all replicas. While Redis is
down the count is unknown and the request is allowed: these limits fail open by design, the API
keeps serving rather than refusing everyone. The login lockouts (django-axes) keep their counts
in PostgreSQL and do not fail open.
"""

import random
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from runtime.client_address import client_address

EXACT_BELOW = 200  # requests per window: smaller limits count every request
MAX_SAMPLE_STEP = 8  # a counted request stands for at most this many


def sample_step(limit: int) -> int:
    """How many requests one counted request stands for, under a limit of `limit` per window."""
    return 1 if limit < EXACT_BELOW else min(MAX_SAMPLE_STEP, limit // 100)


class WindowRateThrottle(BaseThrottle):
    """At most the scope's rate ("600/min") of requests per client in each window of that length."""

    THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    parse_rate = SimpleRateThrottle.parse_rate
    # The module's generator: Python reseeds it in each forked process, so gunicorn's workers do
    # not sample in step. Tests give a seeded random.Random.
    sampler = random
    # This process's clients over their limit: counter key -> when their window ends. Shared by
    # the process's threads (a dict's get and set are atomic under the GIL).
    refused_until: dict[str, float] = {}

    def __init__(self):
        self._wait = None

    def get_scope(self, request, view) -> str | None:
        """Return the scope whose rate applies to this request, or None for no limit."""
        raise NotImplementedError

    def get_rate(self, scope: str) -> str | None:
        return self.THROTTLE_RATES.get(scope)

    def get_ident(self, request) -> str:
        if request.user and request.user.is_authenticated:
            return f"user-{request.user.pk}"
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        scope = self.get_scope(request, view)
        limit, seconds = self.parse_rate(self.get_rate(scope)) if scope else (None, None)
        if limit is None:
            return True
        now = time.time()
        window = int(now // seconds)
        key, ends = f"throttle:{scope}:{self.get_ident(request)}:{window}", (window + 1) * seconds
        if key in self.refused_until:
            self._wait = ends - now
            return False
        step = sample_step(limit)
        if step > 1 and self.sampler.random() * step >= 1:
            return True  # not counted: a counted request stands for it
        count = cache.count_in_window(key, seconds, step)
        if count is None or count <= limit:  # None: Redis unreachable, fail open
            return True
        self._refuse(key, ends, now)
        self._wait = ends - now
        return False

    @classmethod
    def _refuse(cls, key: str, ends: float, now: float) -> None:
        """Remember a client over its limit until its window ends; forget ended windows."""
        for old in [k for k, until in list(cls.refused_until.items()) if until <= now]:
            cls.refused_until.pop(old, None)
        cls.refused_until[key] = ends

    def wait(self) -> float | None:
        """Seconds until the window ends and the client may send again."""
        return self._wait


class ClientRateThrottle(WindowRateThrottle):
    """Every API request: the "user" rate for a signed-in user, the "anon" rate per address."""

    def get_scope(self, request, view) -> str:
        return "user" if request.user and request.user.is_authenticated else "anon"


class ScopedRateThrottle(WindowRateThrottle):
    """The view's throttle_scope ("login", "vote", "export"), per user or address."""

    def get_scope(self, request, view) -> str | None:
        return getattr(view, "throttle_scope", None)
