"""The exports API: 202 with a status URL, status, then a CSV download link."""

import pytest

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


def test_download_before_done_is_a_400(user_api):
    poll = PollFactory()
    body = user_api.post("/api/exports/", {"poll_id": poll.pk}, format="json").json()
    response = user_api.get(f"/api/exports/{body['id']}/download/")
    assert response.status_code == 400


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
