"""The home page: open polls only, paginated, cached until a poll or a vote changes."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from domain.models import Choice
from domain.services import poll_create, vote_cast
from tests.factories import PollFactory, UserFactory, closed_poll

pytestmark = pytest.mark.django_db

HOME = reverse("web:home")


def test_home_lists_open_polls_and_not_closed_or_upcoming_ones(client):
    open_poll = PollFactory(question="Tea or coffee?")
    closed_poll(question="Cats or dogs?")
    now = timezone.now()
    PollFactory(question="Summer or winter?", opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=1))

    response = client.get(HOME)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Tea or coffee?" in body
    assert reverse("web:poll-detail", args=[open_poll.pk]) in body
    assert "Cats or dogs?" not in body
    assert "Summer or winter?" not in body


def test_home_shows_the_total_votes_of_each_poll(client):
    poll = PollFactory()
    Choice.objects.filter(poll=poll).update(votes=2)

    response = client.get(HOME)

    assert "4 votes" in response.content.decode()


def test_home_is_paginated(client, settings):
    settings.POLLS_PER_PAGE = 2
    now = timezone.now()
    # The home page lists the polls closing soonest first.
    for hours in (1, 2, 3):
        PollFactory(question=f"Closes in {hours}h?", closes_at=now + timedelta(hours=hours))

    first = client.get(HOME).content.decode()
    second = client.get(HOME, {"page": 2}).content.decode()

    assert "Closes in 1h?" in first and "Closes in 2h?" in first and "Closes in 3h?" not in first
    assert "Page 1 of 2" in first and "?page=2" in first
    assert "Closes in 3h?" in second and "Closes in 1h?" not in second


@pytest.mark.parametrize("page", ["abc", "0", "-3", "99999", "1.5", "", "9" * 40])
def test_a_bad_page_number_shows_a_page_not_an_error(client, page):
    PollFactory(question="Still here?")

    response = client.get(HOME, {"page": page})

    assert response.status_code == 200
    assert "Still here?" in response.content.decode()


def test_home_keeps_its_counts_until_its_ttl_and_shows_a_new_poll_at_once(client, django_capture_on_commit_callbacks):
    """Counts on the home page are at most HOME_CACHE_SECONDS old; new polls invalidate it."""
    poll = PollFactory()
    assert "0 votes" in client.get(HOME).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        vote_cast(user=UserFactory(), poll_id=poll.pk, choice_id=poll.choices.first().pk)
    assert "0 votes" in client.get(HOME).content.decode(), "a vote does not invalidate the list"

    with django_capture_on_commit_callbacks(execute=True):
        poll_create(
            owner=UserFactory(),
            question="Fresh on the home page?",
            choices=["A", "B"],
            closes_at=timezone.now() + timedelta(days=9),
        )
    page = client.get(HOME).content.decode()
    assert "Fresh on the home page?" in page
    assert "1 vote" in page


def test_the_poll_list_is_rendered_once_then_served_as_cached_html(client):
    PollFactory(question="Rendered once?")

    first = client.get(HOME)
    second = client.get(HOME)

    assert "web/poll_list.html" in [t.name for t in first.templates]
    assert "web/poll_list.html" not in [t.name for t in second.templates], "the list was rendered again"
    assert "Rendered once?" in second.content.decode()
    assert second.content == first.content
