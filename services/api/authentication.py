"""How the API knows who is calling: a token, read through domain's cache."""

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from domain.token_cache import token_with_user


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication, with the token and its user from Redis when they are there."""

    def authenticate_credentials(self, key):
        token = token_with_user(key)
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
