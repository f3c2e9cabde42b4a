"""An unreachable database gives a fast, clear 503 (HTML for pages, JSON for the API), no traceback."""

import pytest
from django.db import OperationalError


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
