"""Refuse to start with a secret key anyone could know or guess.

Django signs sessions, password-reset links and CSRF tokens with SECRET_KEY, so a published key
(the `CHANGE-ME-...` placeholder of k8s/base/secret.example.yaml) or a short one lets anyone forge
them. Every role's settings pass the key through here at import, so web, api, worker, beat and
migrate all stop with a message naming DJANGO_SECRET_KEY instead of serving with it. The bar is
the one `manage.py check --deploy` applies (security.W009).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

# The placeholder of the example Secret manifests (k8s/base and k8s/overlays/production).
PLACEHOLDER_MARK = "CHANGE-ME"
HOW_TO_GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"

_weak_key_allowed = False


def usable_secret_key(key: str, *, variable: str) -> str:
    """Return the key read from `variable`, or stop start-up saying what is wrong with it."""
    problem = weakness(key)
    if problem and not _weak_key_allowed:
        raise ImproperlyConfigured(f"{variable} {problem}; refusing to start. Generate one with: {HOW_TO_GENERATE}")
    return key


def weakness(key: str) -> str | None:
    """Return why a key must not be used, or None for a key Django's deploy check accepts."""
    if PLACEHOLDER_MARK.lower() in key.lower():
        return f"is the example value ({PLACEHOLDER_MARK}...), which is published"
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"starts with {SECRET_KEY_INSECURE_PREFIX!r} (generated for development)"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"has {len(key)} characters; it needs at least {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"has fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct characters"
    return None


@contextmanager
def weak_secret_key_allowed() -> Iterator[None]:
    """Accept any key in settings imported inside this block.

    Only for settings modules that never serve a request or sign anything: the image build's
    collectstatic (config.settings.build, whose Dockerfile step passes a placeholder key) and the
    test suite (config.settings.test). It cannot be switched on from the environment.
    """
    global _weak_key_allowed
    previous, _weak_key_allowed = _weak_key_allowed, True
    try:
        yield
    finally:
        _weak_key_allowed = previous
