"""The exports API: 202 with a status URL, status, then a CSV download link; one export in progress
per poll and user, a request limit, and a 503 when a statement times out."""

import pytest
from django.test import Client
from django.urls import reverse

from domain.models import ResultExport
from domain.services import export_build
from tests.factories import PollFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_request_follow_and_download(user_api, django_capture_on_commit_callbacks):
    poll = PollFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        response = user_api.post("/api/exports/", {"poll_id": poll.pk}, format="json")
    body = response.json()

    assert response.status_code == 202
    assert body["status"] == "pending"
    assert body["download_url"] is None
    assert response.headers["Location"] == body["status_url"]
    assert len(callbacks) == 1, "the task is sent once, after the commit"

    export_build(export_id=body["id"])
    status = user_api.get(body["status_url"]).json()
    assert status["status"] == "done"
    download = user_api.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    lines = download.content.decode().splitlines()
    assert lines[0] == "poll_id,question,choice_id,choice,votes"
    assert len(lines) == 3


def test_download_before_done_is_a_409_as_on_the_web(user_api):
    """The export exists but has no CSV yet: a conflict with its state, not a bad request."""
    poll = PollFactory()
    body = user_api.post("/api/exports/", {"poll_id": poll.pk}, format="json").json()
    response = user_api.get(f"/api/exports/{body['id']}/download/")
    assert response.status_code == 409
    assert response.json() == {"detail": "The export is pending, not ready to download.", "code": "export_not_ready"}


@pytest.mark.parametrize("payload", [{}, {"poll_id": "x"}, {"poll_id": 0}])
def test_bad_requests_write_nothing(user_api, payload):
    response = user_api.post("/api/exports/", payload, format="json")
    assert response.status_code == 400
    assert not ResultExport.objects.exists()


def test_unknown_poll_is_a_404(user_api):
    assert user_api.post("/api/exports/", {"poll_id": 987654}, format="json").status_code == 404
    assert not ResultExport.objects.exists()


def test_others_exports_are_not_found(user_api):
    export = ResultExport.objects.create(poll=PollFactory(), requested_by=UserFactory())
    assert user_api.get(f"/api/exports/{export.pk}/").status_code == 404


def test_exports_need_authentication(api_client):
    assert api_client.post("/api/exports/", {"poll_id": 1}, format="json").status_code == 401
    assert api_client.get("/api/exports/1/").status_code == 401


def test_a_second_request_for_the_same_poll_returns_the_export_in_progress(user_api):
    poll = PollFactory()
    first = user_api.post("/api/exports/", {"poll_id": poll.pk}, format="json")
    second = user_api.post("/api/exports/", {"poll_id": poll.pk}, format="json")

    assert first.status_code == second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert ResultExport.objects.count() == 1


def test_over_the_export_limit_the_api_answers_429_with_retry_after(user, user_api, settings):
    """The limit is one rule for web and api: exports requested on either count."""
    settings.EXPORT_REQUEST_LIMIT = 2
    web = Client()
    web.force_login(user)
    assert web.post(reverse("web:export-create", args=[PollFactory().pk])).status_code == 303
    assert user_api.post("/api/exports/", {"poll_id": PollFactory().pk}, format="json").status_code == 202

    response = user_api.post("/api/exports/", {"poll_id": PollFactory().pk}, format="json")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.EXPORT_REQUEST_WINDOW_SECONDS
    assert response.json()["code"] == "export_limit_reached"
    assert "try again in" in response.json()["detail"]
    assert ResultExport.objects.count() == 2


def test_a_statement_cancelled_by_the_timeout_is_a_503_not_a_500(user_api, make_slower_than_statement_timeout):
    """A query that runs past statement_timeout is cancelled by PostgreSQL; the client gets the
    same clear, retryable 503 as for an unreachable database, with no traceback."""
    export = ResultExport.objects.create(poll=PollFactory(), requested_by=UserFactory())
    make_slower_than_statement_timeout("api.views.exports.export_get")

    response = user_api.get(f"/api/exports/{export.pk}/")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json() == {"detail": "The service is temporarily unavailable. Please retry shortly."}
