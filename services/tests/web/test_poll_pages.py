"""A poll's page with its vote form, its results page and the error pages."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from domain.models import Choice
from domain.services import vote_cast
from tests.factories import PollFactory, closed_poll

pytestmark = pytest.mark.django_db


def test_a_poll_page_shows_the_question_and_a_radio_button_per_choice(user_client):
    poll = PollFactory(question="Tea or coffee?", choices=["Tea", "Coffee"])

    response = user_client.get(reverse("web:poll-detail", args=[poll.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Tea or coffee?" in body
    for choice in poll.choices.all():
        assert f'type="radio" name="choice" value="{choice.pk}"' in body
        assert choice.text in body
    assert reverse("web:poll-vote", args=[poll.pk]) in body
    assert "csrfmiddlewaretoken" in body


def test_an_unknown_poll_is_a_404_page(client):
    response = client.get(reverse("web:poll-detail", args=[999999]))

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_anonymous_visitors_are_asked_to_log_in_instead_of_a_form(client):
    poll = PollFactory()

    body = client.get(reverse("web:poll-detail", args=[poll.pk])).content.decode()

    assert "Log in to vote" in body
    assert 'name="choice"' not in body


def test_after_voting_the_poll_page_says_so_instead_of_a_form(user, user_client):
    poll = PollFactory()
    vote_cast(user=user, poll_id=poll.pk, choice_id=poll.choices.first().pk)

    body = user_client.get(reverse("web:poll-detail", args=[poll.pk])).content.decode()

    assert "You have voted in this poll." in body
    assert 'name="choice"' not in body


def test_a_closed_poll_page_says_so_instead_of_a_form(user_client):
    poll = closed_poll()

    body = user_client.get(reverse("web:poll-detail", args=[poll.pk])).content.decode()

    assert "This poll is closed" in body
    assert 'name="choice"' not in body


def test_an_upcoming_poll_page_says_when_it_opens(user_client):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    poll = PollFactory(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2))

    body = user_client.get(reverse("web:poll-detail", args=[poll.pk])).content.decode()

    assert "This poll is not open yet" in body
    assert "Opens" in body
    assert 'name="choice"' not in body


def test_results_show_votes_and_percentages_with_an_export_button(client):
    poll = PollFactory(choices=["Tea", "Coffee"])
    Choice.objects.filter(poll=poll, text="Tea").update(votes=3)
    Choice.objects.filter(poll=poll, text="Coffee").update(votes=1)

    response = client.get(reverse("web:poll-results", args=[poll.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "4 votes in total" in body
    assert "3 votes · 75%" in body and "1 vote · 25%" in body
    assert '<progress class="bar" max="100" value="75">' in body
    assert reverse("web:export-create", args=[poll.pk]) in body


def test_results_of_a_poll_without_votes_show_zero_percent(client):
    poll = PollFactory()

    body = client.get(reverse("web:poll-results", args=[poll.pk])).content.decode()

    assert "0 votes in total" in body and "0 votes · 0%" in body


def test_results_of_an_unknown_poll_are_a_404(client):
    assert client.get(reverse("web:poll-results", args=[999999])).status_code == 404


def test_the_500_page_renders_without_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = render_to_string("500.html")

    assert "Something went wrong" in html
