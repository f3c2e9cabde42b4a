"""Limits on web forms, with DRF's throttle classes (the same rates syntax and cache as the api)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from runtime.drf_throttles import ClientAddressMixin


class SignupThrottle(ClientAddressMixin, SimpleRateThrottle):
    """Sign-up attempts per client address, at SIGNUP_THROTTLE (e.g. "10/hour").

    Counted in the Redis cache like the api's throttles, so it fails open while Redis is down;
    the gateway's limit_req on /accounts/signup/ is the layer that still holds then.
    """

    scope = "signup"

    def get_rate(self) -> str | None:
        return settings.SIGNUP_THROTTLE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
