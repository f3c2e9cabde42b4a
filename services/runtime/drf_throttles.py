"""Django REST Framework throttles keyed on the client address the gateway determined.

DRF's own classes key anonymous clients on the raw X-Forwarded-For string unless NUM_PROXIES is
set, so a client could get a fresh limit by sending a new header. These use runtime.client_address,
the one definition of a client's address (also used by the login lockouts and the sign-up limit).

Counters live in the shared Redis cache, so a limit holds across all replicas. While Redis is down
the cache misses and drops writes (runtime.resilient_cache), so these throttles fail open by design: the API
keeps serving rather than refusing everyone. The login lockouts (django-axes) keep their counts in
PostgreSQL and do not fail open.
"""

from rest_framework import throttling

from runtime.client_address import client_address


class ClientAddressMixin:
    """Identify an anonymous client by runtime.client_address."""

    def get_ident(self, request) -> str:
        return client_address(request)


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    """DRF's anonymous throttle ("anon" rate), keyed on the client address."""


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    """DRF's per-user throttle ("user" rate); anonymous requests key on the client address."""


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    """DRF's per-view throttle (the view's throttle_scope), keyed on user or client address."""
