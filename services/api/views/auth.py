"""Get an API token with a username and password, within the login limits."""

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.settings import api_settings

from runtime.login_lockout import MESSAGE, lockout_seconds


class TokenObtainApi(ObtainAuthToken):
    """Return the API token of a username and password.

    Attempts are limited per client address, and failed ones per client address and per
    username: past the limit every attempt, even with the right password, answers 429 with
    Retry-After.
    """

    # DRF's view has no throttles at all: here the default ones apply plus the "login" scope.
    throttle_classes = api_settings.DEFAULT_THROTTLE_CLASSES
    throttle_scope = "login"

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # The serializer's authenticate() got this DRF request, so django-axes marked it, not
            # the Django request its middleware turns into a lockout response: answer 429 here.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(wait=lockout_seconds(), detail=MESSAGE) from None
            raise
