"""An unreachable database gives a fast, clear 503 (HTML for pages, JSON for the API), no traceback."""

import time

import pytest
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory

from runtime.middleware import DependencyErrorMiddleware


@pytest.fixture
def database_down(monkeypatch):
    """Make every query fail the way psycopg does when PostgreSQL is gone."""
    from django.db.backends.utils import CursorWrapper

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at postgres failed: Connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)


@pytest.mark.django_db
def test_pages_get_an_html_503(client, database_down):
    response = client.get("/polls/1/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Temporarily unavailable" in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db
def test_the_api_gets_a_json_503(client, database_down):
    response = client.get("/api/polls/1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json() == {"detail": "The service is temporarily unavailable. Please retry shortly."}


@pytest.mark.django_db(transaction=True)
def test_a_session_ended_for_idling_in_a_transaction_is_a_503_too():
    """PostgreSQL ends a session left idle in a transaction (idle_in_transaction_session_timeout);
    the next query fails with an InternalError, which is "retry", not a 500 with a traceback."""
    with pytest.raises(Exception) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 100")
        time.sleep(0.5)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    middleware = DependencyErrorMiddleware(lambda request: None)
    response = middleware.process_exception(RequestFactory().get("/api/polls/"), caught.value)

    assert response is not None and response.status_code == 503, type(caught.value)
    assert response["Retry-After"] == "5"


def test_other_database_errors_are_left_to_django():
    """A programming error is a bug to see in the logs, not a "retry later"."""
    from django.db import ProgrammingError

    middleware = DependencyErrorMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/"), ProgrammingError("no such column")) is None
