"""API tokens and their users, cached so a signed-in API request need not query PostgreSQL.

DRF's token authentication reads the token and its user from PostgreSQL on every request: about
two thirds of a signed-in cached read's time (docs/performance.md). Here a token is cached with its
user under a digest of the token (a dump of Redis's keys reveals no credential) for
API_TOKEN_CACHE_SECONDS. Deleting a token, deleting its user or saving its user (deactivated, say)
drops the entry at once, from whichever service does it: the receivers are connected in every role
(domain.apps). A change that sends no signal (a queryset update, or a deletion while Redis was
down) shows within API_TOKEN_CACHE_SECONDS. While Redis is down every read misses and queries.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.authtoken.models import Token


def _key(token_key: str) -> str:
    return "auth:token:" + hashlib.sha256(token_key.encode()).hexdigest()


def token_with_user(key: str) -> Token | None:
    """Return the token with this key, its user loaded, or None when there is none."""
    cache_key = _key(key)
    if (token := cache.get(cache_key)) is not None:
        return token
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is not None:
        cache.set(cache_key, token, timeout=settings.API_TOKEN_CACHE_SECONDS)
    return token


def forget_token(key: str) -> None:
    """Drop a token's cached entry, once the change to it or its user has committed."""
    transaction.on_commit(lambda: cache.delete(_key(key)))


def _token_deleted(sender, instance: Token, **kwargs) -> None:
    forget_token(instance.key)


# A save of only these fields changes nothing a token's check reads: a web login's last_login
# update (django.contrib.auth's update_last_login) keeps the user's cached tokens, and costs no query.
NOT_CHECKED = frozenset({"last_login"})


def _user_saved(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields and update_fields <= NOT_CHECKED:
        return
    for key in Token.objects.filter(user_id=instance.pk).values_list("key", flat=True):
        forget_token(key)


def connect_receivers() -> None:
    """Forget a token when it is deleted or its user is saved (a user's deletion deletes its token)."""
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="domain.token_cache.token_deleted")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="domain.token_cache.user_saved")
