"""Property-based run over the OpenAPI schema: whatever the input, the API never answers 5xx.

Schemathesis generates valid and invalid input (its positive and negative modes, NUL bytes
included) for every operation, with and without a token. Every answer must be a clear one: below
500, JSON, and no traceback. tests/test_hostile_requests.py adds what a schema cannot describe
(unknown methods, ids beyond bigint, other scripts' digits in paths and query strings).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.factories import PollFactory, UserFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def token(db):
    """An authenticated user with a token and a poll to vote in, so writes get past auth."""
    PollFactory.create_batch(3)
    return Token.objects.create(user=UserFactory()).key


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Keep the test's database connection open across calls, as Django's test client does.

    The WSGI handler closes "old" connections at the end of each request, which would close the
    connection holding the test's transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(case, token):
    _assert_a_clear_answer(case, case.call(headers={"Authorization": f"Token {token}"}))


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors_without_a_token(case, db):
    """Anonymous clients take other paths: 401s, the anonymous throttle, the token view's limits."""
    case.headers = {key: value for key, value in (case.headers or {}).items() if key.lower() != "authorization"}
    _assert_a_clear_answer(case, case.call())


def _assert_a_clear_answer(case, response) -> None:
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where}: {response.text[:500]}"
    assert "Traceback" not in response.text, where
    if response.status_code >= 400:
        content_type = {key.lower(): value for key, value in response.headers.items()}.get("content-type", [""])
        assert "application/json" in str(content_type), f"{where}: {content_type} {response.text[:200]}"
