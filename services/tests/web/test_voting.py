"""Voting through the poll page: CSRF-protected, once per user, and never a 500."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from domain.models import Choice, Vote
from domain.services import vote_cast
from tests.factories import PollFactory, closed_poll

pytestmark = pytest.mark.django_db


def _vote_url(poll) -> str:
    return reverse("web:poll-vote", args=[poll.pk])


def test_a_vote_is_recorded_and_the_results_are_shown(user, user_client):
    poll = PollFactory()
    yes = poll.choices.get(text="Yes")

    response = user_client.post(_vote_url(poll), {"choice": yes.pk}, follow=True)

    assert response.redirect_chain == [(reverse("web:poll-results", args=[poll.pk]), 303)]
    assert "your vote was recorded" in response.content.decode()
    assert Vote.objects.filter(poll=poll, user=user, choice=yes).exists()
    yes.refresh_from_db()
    assert yes.votes == 1


def test_the_vote_form_requires_a_csrf_token(user):
    poll = PollFactory()
    yes = poll.choices.get(text="Yes")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    forged = browser.post(_vote_url(poll), {"choice": yes.pk})

    assert forged.status_code == 403
    assert not Vote.objects.exists()

    page = browser.get(reverse("web:poll-detail", args=[poll.pk])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    genuine = browser.post(_vote_url(poll), {"choice": yes.pk, "csrfmiddlewaretoken": token})

    assert genuine.status_code == 303
    assert Vote.objects.filter(poll=poll, user=user, choice=yes).count() == 1


def test_a_second_vote_is_a_409_and_writes_nothing(user, user_client):
    poll = PollFactory()
    yes, no = poll.choices.all()
    vote_cast(user=user, poll_id=poll.pk, choice_id=yes.pk)

    response = user_client.post(_vote_url(poll), {"choice": no.pk})

    assert response.status_code == 409
    assert "You have already voted in this poll." in response.content.decode()
    assert Vote.objects.filter(poll=poll).count() == 1
    assert list(poll.choices.values_list("text", "votes")) == [("Yes", 1), ("No", 0)]


def test_a_vote_in_a_closed_poll_is_a_409(user_client):
    poll = closed_poll()

    response = user_client.post(_vote_url(poll), {"choice": poll.choices.first().pk})

    assert response.status_code == 409
    assert "This poll is not open for voting." in response.content.decode()
    assert not Vote.objects.exists()


def test_a_choice_of_another_poll_is_a_400(user_client):
    poll, other = PollFactory(), PollFactory()

    response = user_client.post(_vote_url(poll), {"choice": other.choices.first().pk})

    assert response.status_code == 400
    assert "That choice does not belong to this poll." in response.content.decode()
    assert not Vote.objects.exists()
    assert not Choice.objects.filter(votes__gt=0).exists()


@pytest.mark.parametrize(("data", "message"), [({}, "Pick an answer to vote."), ({"choice": "x"}, "Pick one of")])
def test_a_missing_or_malformed_choice_is_a_400_with_the_form_again(user_client, data, message):
    poll = PollFactory()

    response = user_client.post(_vote_url(poll), data)

    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'name="choice"' in body
    assert not Vote.objects.exists()


def test_a_vote_in_an_unknown_poll_is_a_404(user_client):
    assert user_client.post(reverse("web:poll-vote", args=[999999]), {"choice": 1}).status_code == 404


def test_voting_requires_login_and_comes_back_to_the_poll(client):
    poll = PollFactory()

    response = client.post(_vote_url(poll), {"choice": poll.choices.first().pk})

    assert response.status_code == 302
    login, _, next_page = response["Location"].partition("?next=")
    assert login == reverse("web:login")
    assert next_page.replace("%2F", "/") == reverse("web:poll-detail", args=[poll.pk])
    assert not Vote.objects.exists()


def test_the_vote_url_does_not_answer_get(user_client):
    poll = PollFactory()

    assert user_client.get(_vote_url(poll)).status_code == 405
