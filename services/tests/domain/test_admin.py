"""The admin shows votes but never adds, changes or deletes them: votes change only through
vote_cast, which keeps each choice's count equal to its Vote rows. Exports are view and delete only."""

import pytest

from domain.models import Choice, Poll, ResultExport, Vote
from domain.services import vote_cast
from tests.factories import PollFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vote():
    poll = PollFactory()
    return vote_cast(user=UserFactory(), poll_id=poll.pk, choice_id=poll.choices.first().pk)


def test_votes_are_listed_and_viewable(admin_client, vote):
    listing = admin_client.get("/admin/domain/vote/")
    detail = admin_client.get(f"/admin/domain/vote/{vote.pk}/change/")

    assert listing.status_code == 200
    assert f"/admin/domain/vote/{vote.pk}/change/" in listing.content.decode()
    assert "Add vote" not in listing.content.decode()
    assert 'value="delete_selected"' not in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode(), "a read-only page has no save button"


def test_votes_cannot_be_added(admin_client, vote):
    poll = PollFactory()
    form = {"poll": poll.pk, "choice": poll.choices.first().pk, "user": UserFactory().pk}

    assert admin_client.get("/admin/domain/vote/add/").status_code == 403
    assert admin_client.post("/admin/domain/vote/add/", form).status_code == 403
    assert list(Vote.objects.all()) == [vote]


def test_votes_cannot_be_changed(admin_client, vote):
    other_choice = Choice.objects.filter(poll=vote.poll).exclude(pk=vote.choice_id).get()
    form = {"poll": vote.poll_id, "choice": other_choice.pk, "user": vote.user_id}

    response = admin_client.post(f"/admin/domain/vote/{vote.pk}/change/", form)

    assert response.status_code == 403
    assert Vote.objects.get().choice_id == vote.choice_id


def test_votes_cannot_be_deleted(admin_client, vote):
    single = admin_client.post(f"/admin/domain/vote/{vote.pk}/delete/", {"post": "yes"})
    bulk = admin_client.post(
        "/admin/domain/vote/", {"action": "delete_selected", "_selected_action": [vote.pk], "post": "yes"}
    )

    assert single.status_code == 403
    assert bulk.status_code in (200, 302)  # the action is unknown: Django shows the list again
    assert Vote.objects.filter(pk=vote.pk).exists()
    assert Choice.objects.get(pk=vote.choice_id).votes == 1


def test_a_poll_with_votes_can_still_be_deleted_with_them(admin_client, vote):
    """Votes are refused only on their own: deleting their poll takes choices and votes along."""
    response = admin_client.post(f"/admin/domain/poll/{vote.poll_id}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Poll.objects.filter(pk=vote.poll_id).exists()
    assert not Vote.objects.exists() and not Choice.objects.filter(poll_id=vote.poll_id).exists()


def test_exports_can_be_viewed_and_deleted_but_not_added_or_edited(admin_client):
    """Editing an export's status could break the one-active-export rule (and give a 500)."""
    export = ResultExport.objects.create(poll=PollFactory(), requested_by=UserFactory(), status="done")
    ResultExport.objects.create(poll=export.poll, requested_by=export.requested_by)  # pending
    page = f"/admin/domain/resultexport/{export.pk}/change/"

    assert admin_client.get(page).status_code == 200
    assert admin_client.post(page, {"status": "pending", "attempts": 0}).status_code == 403
    assert admin_client.get("/admin/domain/resultexport/add/").status_code == 403
    assert ResultExport.objects.get(pk=export.pk).status == "done"
    assert admin_client.post(f"/admin/domain/resultexport/{export.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not ResultExport.objects.filter(pk=export.pk).exists()
