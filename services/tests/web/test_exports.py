"""Exporting results as CSV: request, follow the status page, download; only one's own; one export
in progress per poll, a request limit, and a 503 page when a statement times out."""

import pytest
from django.test import Client
from django.urls import reverse

from domain.models import ResultExport
from domain.services import export_build, export_fail
from tests.factories import PollFactory, UserFactory

pytestmark = pytest.mark.django_db


def _request_export(client: Client, poll) -> ResultExport:
    response = client.post(reverse("web:export-create", args=[poll.pk]))
    export = ResultExport.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("web:export-status", args=[export.pk])
    return export


def test_an_export_is_requested_built_and_downloaded(user, user_client):
    poll = PollFactory(question="Tea or coffee?", choices=["Tea", "Coffee"])

    # Given an export was requested from the results page
    export = _request_export(user_client, poll)
    assert export.requested_by == user

    # Then its status page says it is pending and reloads itself
    pending = user_client.get(reverse("web:export-status", args=[export.pk]))
    assert pending.status_code == 200
    assert "pending" in pending.content.decode()
    assert '<meta http-equiv="refresh" content="2">' in pending.content.decode()

    # When the worker has built it (the real worker is tested in tests/worker)
    export_build(export_id=export.pk)

    # Then the status page links to the download, and stops reloading
    done = user_client.get(reverse("web:export-status", args=[export.pk])).content.decode()
    assert reverse("web:export-download", args=[export.pk]) in done
    assert "http-equiv" not in done

    # And the download is the CSV
    download = user_client.get(reverse("web:export-download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"] == f'attachment; filename="poll-{poll.pk}-results.csv"'
    lines = download.content.decode().splitlines()
    assert lines[0] == "poll_id,question,choice_id,choice,votes"
    assert len(lines) == 3


def test_a_download_before_the_export_is_done_is_a_409(user_client):
    export = _request_export(user_client, PollFactory())

    response = user_client.get(reverse("web:export-download", args=[export.pk]))

    assert response.status_code == 409
    assert "not ready" in response.content.decode()


def test_a_failed_export_shows_its_error(user_client):
    export = _request_export(user_client, PollFactory())
    export_fail(export_id=export.pk, error="The database went away.")

    body = user_client.get(reverse("web:export-status", args=[export.pk])).content.decode()

    assert "failed" in body and "The database went away." in body
    assert "http-equiv" not in body


def test_another_users_export_is_a_404(user_client):
    export = _request_export(user_client, PollFactory())
    export_build(export_id=export.pk)
    stranger = Client()
    stranger.force_login(UserFactory())

    assert stranger.get(reverse("web:export-status", args=[export.pk])).status_code == 404
    assert stranger.get(reverse("web:export-download", args=[export.pk])).status_code == 404


def test_exporting_requires_login_and_comes_back_to_the_results(client):
    poll = PollFactory()

    response = client.post(reverse("web:export-create", args=[poll.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")
    assert not ResultExport.objects.exists()
    status_page = client.get(reverse("web:export-status", args=[1]))
    assert status_page.status_code == 302


def test_exporting_an_unknown_poll_is_a_404(user_client):
    assert user_client.post(reverse("web:export-create", args=[999999])).status_code == 404
    assert not ResultExport.objects.exists()


def test_asking_again_while_an_export_is_in_progress_shows_that_export(user_client):
    poll = PollFactory()
    export = _request_export(user_client, poll)

    again = user_client.post(reverse("web:export-create", args=[poll.pk]))

    assert again.status_code == 303
    assert again["Location"] == reverse("web:export-status", args=[export.pk])
    assert ResultExport.objects.count() == 1


def test_over_the_export_limit_the_page_says_when_to_retry_with_a_429(user_client, settings):
    settings.EXPORT_REQUEST_LIMIT = 1
    _request_export(user_client, PollFactory())
    poll = PollFactory()

    response = user_client.post(reverse("web:export-create", args=[poll.pk]))

    body = response.content.decode()
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.EXPORT_REQUEST_WINDOW_SECONDS
    assert "You have reached the limit of 1 export per 10 minutes; try again in" in body
    assert reverse("web:poll-results", args=[poll.pk]) in body
    assert "http-equiv" not in body
    assert ResultExport.objects.count() == 1


def test_a_statement_cancelled_by_the_timeout_is_a_503_page_not_a_500(user_client, make_slower_than_statement_timeout):
    """A query that runs past statement_timeout (200 ms here, set on this test's transaction; the
    configured value is tested in tests/domain/test_database_guards.py) is cancelled by PostgreSQL,
    and the page is the site's clear, retryable 503, with no traceback."""
    export = _request_export(user_client, PollFactory())
    make_slower_than_statement_timeout("web.views.exports.export_get")

    response = user_client.get(reverse("web:export-status", args=[export.pk]), HTTP_ACCEPT="text/html")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert b"Temporarily unavailable" in response.content
    assert b"Traceback" not in response.content
