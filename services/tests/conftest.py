"""Fixtures shared by all tests. The database and Redis are real (see config.settings.test)."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from runtime.drf_throttles import WindowRateThrottle
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with an empty cache (the test Redis database, not the stack's), and with
    no client remembered over its API limit by this process (runtime.drf_throttles)."""
    cache.clear()
    WindowRateThrottle.refused_until.clear()
    yield


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user_api(user):
    """An API client authenticated with the user's token."""
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def user_client(user) -> Client:
    """A browser with the `user` fixture logged in."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def make_slower_than_statement_timeout(monkeypatch):
    """Return a function that makes a view's selector run past a 200 ms statement timeout.

    The timeout is set on this test's own transaction, so it ends with the test; that the app's
    sessions get the configured timeout is tested in tests/domain/test_database_guards.py.
    """
    from django.db import connection

    def slow(**_kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")

    def patch(target: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 200")
        monkeypatch.setattr(target, slow)

    return patch
