"""One error vocabulary: the api and the web pages answer each domain error with the
same status (and Retry-After for a limit), the api with the error's stable code and message, and
neither writes anything."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db.models import Sum
from django.urls import reverse

from domain import errors
from domain.models import Choice, Poll, ResultExport, Vote
from domain.services import export_request, vote_cast
from tests.factories import PollFactory, closed_poll

pytestmark = pytest.mark.django_db

Request = tuple[str, str, dict]  # method, path, data


@dataclass(frozen=True)
class Refusal:
    """A request the domain refuses, asked of the api and (where the web offers it) of a page."""

    error: type[errors.DomainError]
    status: int  # written out, not read from the error: this test pins what clients see
    arrange: Callable[..., tuple[Request, Request | None]]

    def __str__(self) -> str:
        return self.error.__name__


def _vote_requests(poll_id: int, choice_id: int) -> tuple[Request, Request]:
    return (
        ("post", f"/api/polls/{poll_id}/vote/", {"choice_id": choice_id}),
        ("post", reverse("web:poll-vote", args=[poll_id]), {"choice": choice_id}),
    )


def _unknown_poll(user, settings):
    return _vote_requests(987_654, 1)


def _closed_poll(user, settings):
    poll = closed_poll()
    return _vote_requests(poll.pk, poll.choices.first().pk)


def _second_vote(user, settings):
    poll = PollFactory()
    yes, no = poll.choices.all()
    vote_cast(user=user, poll_id=poll.pk, choice_id=yes.pk)
    return _vote_requests(poll.pk, no.pk)


def _choice_of_another_poll(user, settings):
    return _vote_requests(PollFactory().pk, PollFactory().choices.first().pk)


def _poll_with_equal_choices(user, settings):
    # The web has no page that creates polls.
    body = {"question": "Same?", "choices": ["Yes", "Yes"], "closes_at": "2999-01-01T00:00:00Z"}
    return ("post", "/api/polls/", body), None


def _export_not_ready(user, settings):
    export = export_request(user=user, poll_id=PollFactory().pk)
    return (
        ("get", f"/api/exports/{export.pk}/download/", {}),
        ("get", reverse("web:export-download", args=[export.pk]), {}),
    )


def _export_over_the_limit(user, settings):
    settings.EXPORT_REQUEST_LIMIT = 1
    export_request(user=user, poll_id=PollFactory().pk)
    poll_id = PollFactory().pk
    return ("post", "/api/exports/", {"poll_id": poll_id}), ("post", reverse("web:export-create", args=[poll_id]), {})


REFUSALS = [
    Refusal(errors.NotFound, 404, _unknown_poll),
    Refusal(errors.PollClosed, 409, _closed_poll),
    Refusal(errors.AlreadyVoted, 409, _second_vote),
    Refusal(errors.ChoiceNotInPoll, 400, _choice_of_another_poll),
    Refusal(errors.DomainError, 400, _poll_with_equal_choices),
    Refusal(errors.ExportNotReady, 409, _export_not_ready),
    Refusal(errors.ExportLimitReached, 429, _export_over_the_limit),
]


def _rows() -> tuple:
    return (
        Poll.objects.count(),
        Vote.objects.count(),
        Choice.objects.aggregate(votes=Sum("votes"))["votes"],
        ResultExport.objects.count(),
    )


@pytest.mark.parametrize("refusal", REFUSALS, ids=str)
def test_api_and_web_answer_a_domain_error_alike_and_write_nothing(refusal, user, user_api, user_client, settings):
    api_request, web_request = refusal.arrange(user, settings)
    before = _rows()

    method, path, data = api_request
    api = getattr(user_api, method)(path, data, format="json")

    assert api.status_code == refusal.status, api.content
    assert api.json() == {"detail": api.json()["detail"], "code": refusal.error.code}
    assert api.json()["detail"]
    if web_request is not None:
        method, path, data = web_request
        web = getattr(user_client, method)(path, data)
        assert web.status_code == refusal.status, web.content[:500]
        assert ("Retry-After" in web) == ("Retry-After" in api)
    if refusal.status == 429:
        assert 0 < int(api["Retry-After"]) <= settings.EXPORT_REQUEST_WINDOW_SECONDS
    assert _rows() == before


def test_every_domain_error_is_answered_above():
    """A new domain error needs a row in REFUSALS, so its answers are pinned for both interfaces."""

    def with_subclasses(cls: type) -> set[type]:
        return {cls}.union(*(with_subclasses(sub) for sub in cls.__subclasses__()))

    assert {refusal.error for refusal in REFUSALS} == with_subclasses(errors.DomainError)


def test_the_not_ready_export_says_so_alike_on_both(user, user_api, user_client):
    """The api's message is the one the page shows, and the page still shows the export's status."""
    export = export_request(user=user, poll_id=PollFactory().pk)

    api = user_api.get(f"/api/exports/{export.pk}/download/")
    page = user_client.get(reverse("web:export-download", args=[export.pk]))

    assert api.status_code == page.status_code == 409
    assert api.json() == {"detail": "The export is pending, not ready to download.", "code": "export_not_ready"}
    assert "The export is pending, not ready to download." in page.content.decode()
    assert "status-pending" in page.content.decode()
