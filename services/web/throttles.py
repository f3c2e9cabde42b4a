"""Limits on web forms, counted like the api's throttles (the same rate syntax and Redis counters)."""

from django.conf import settings

from runtime.drf_throttles import WindowRateThrottle


class SignupThrottle(WindowRateThrottle):
    """Sign-up attempts per client address, at SIGNUP_THROTTLE (e.g. "10/hour").

    Keyed on the client address (the sign-up view sends signed-in users home first). Counted in
    the Redis cache like the api's throttles, so it fails open while Redis is down;
    the gateway's limit_req on /accounts/signup/ is the layer that still holds then.
    """

    def get_scope(self, request, view) -> str:
        return "signup"

    def get_rate(self, scope: str) -> str | None:
        return settings.SIGNUP_THROTTLE
