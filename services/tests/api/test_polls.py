"""The polls API: listing, creating, voting and results, including every kind of bad input."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from domain.models import Choice, Poll, Vote
from domain.services import poll_create
from tests.factories import PollFactory, closed_poll

pytestmark = pytest.mark.django_db


def _create_body(**overrides):
    body = {
        "question": "Tea or coffee?",
        "choices": ["Tea", "Coffee"],
        "closes_at": (timezone.now() + timedelta(days=1)).isoformat(),
    }
    return {**body, **overrides}


def test_list_filters_open_and_closed(api_client):
    open_poll, old_poll = PollFactory(), closed_poll()

    open_ids = [p["id"] for p in api_client.get("/api/polls/?status=open").json()["results"]]
    closed_ids = [p["id"] for p in api_client.get("/api/polls/?status=closed").json()["results"]]

    assert open_ids == [open_poll.pk]
    assert closed_ids == [old_poll.pk]


def test_list_is_paginated(api_client):
    PollFactory.create_batch(25)
    first = api_client.get("/api/polls/").json()
    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["next"].endswith("?page=2")


def test_an_unknown_status_filter_is_a_400(api_client):
    response = api_client.get("/api/polls/?status=sideways")
    assert response.status_code == 400
    assert "status" in response.json()


def test_an_unknown_page_is_a_404(api_client):
    assert api_client.get("/api/polls/?page=99").status_code == 404
    assert api_client.get("/api/polls/?page=two").status_code == 404


def test_a_vote_leaves_lists_cached_and_shows_at_once_in_the_poll_and_its_results(
    api_client, user_api, user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """Lists show counts at most API_POLL_LIST_CACHE_SECONDS old; one poll's reads are exact."""
    poll = PollFactory(choices=["Yes", "No"])
    first = api_client.get("/api/polls/").json()
    for path in (f"/api/polls/{poll.pk}/", f"/api/polls/{poll.pk}/results/"):
        api_client.get(path)

    with django_assert_num_queries(0):
        assert api_client.get("/api/polls/?page=1").json() == first

    choice = poll.choices.get(text="Yes")
    with django_capture_on_commit_callbacks(execute=True):  # the vote invalidates once committed
        assert user_api.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": choice.pk}, format="json").status_code == 201
    with django_assert_num_queries(0):
        assert api_client.get("/api/polls/").json() == first, "the list keeps its counts until its TTL"
    detail = api_client.get(f"/api/polls/{poll.pk}/").json()
    assert {c["text"]: c["votes"] for c in detail["choices"]} == {"Yes": 1, "No": 0}
    assert api_client.get(f"/api/polls/{poll.pk}/results/").json()["total_votes"] == 1

    with django_capture_on_commit_callbacks(execute=True):  # a new poll shows in lists at once
        poll_create(owner=user, question="Brand new?", choices=["A", "B"], closes_at=timezone.now() + timedelta(days=9))
    assert [p["question"] for p in api_client.get("/api/polls/").json()["results"]][0] == "Brand new?"


def test_a_cached_page_is_the_stored_json_bytes_served_as_they_are(api_client):
    """The cache holds the rendered answer: a cached read neither serializes nor renders again."""
    from django.core.cache import cache

    PollFactory()
    first = api_client.get("/api/polls/")
    second = api_client.get("/api/polls/")

    _, stored = cache.get("polls:list:api:testserver:None:1")  # (versions it was built under, value)
    assert isinstance(stored, bytes)
    assert second.content == first.content == stored
    assert second["Content-Type"] == "application/json"


def test_detail_and_unknown_id(api_client):
    poll = PollFactory()
    body = api_client.get(f"/api/polls/{poll.pk}/").json()
    assert body["question"] == poll.question
    assert [c["text"] for c in body["choices"]] == ["Yes", "No"]
    assert body["is_open"] is True
    assert api_client.get("/api/polls/999999/").status_code == 404


def test_create_needs_authentication(api_client):
    response = api_client.post("/api/polls/", _create_body(), format="json")
    assert response.status_code == 401
    assert not Poll.objects.exists()


def test_create(user_api, user):
    response = user_api.post("/api/polls/", _create_body(), format="json")
    assert response.status_code == 201
    poll = Poll.objects.get(pk=response.json()["id"])
    assert poll.owner == user
    assert list(poll.choices.values_list("text", flat=True)) == ["Tea", "Coffee"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_create_body(question=""), "question"),
        (_create_body(question=["not", "a", "string"]), "question"),
        (_create_body(choices=["Only one"]), "choices"),
        (_create_body(choices="Tea, Coffee"), "choices"),
        (_create_body(closes_at="next tuesday"), "closes_at"),
        (_create_body(question="x" * 201), "question"),
    ],
)
def test_create_rejects_bad_fields_with_field_errors(user_api, body, field):
    response = user_api.post("/api/polls/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Poll.objects.exists()


def test_create_rejects_a_poll_closing_before_it_opens(user_api):
    body = _create_body(closes_at=(timezone.now() - timedelta(days=1)).isoformat())
    response = user_api.post("/api/polls/", body, format="json")
    assert response.status_code == 400
    assert not Poll.objects.exists()


def test_malformed_json_is_a_400(user_api):
    response = user_api.post("/api/polls/", '{"question": ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not Poll.objects.exists()


def test_vote_and_results(user_api):
    poll = PollFactory()
    yes = poll.choices.get(text="Yes")

    response = user_api.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": yes.pk}, format="json")
    results = user_api.get(f"/api/polls/{poll.pk}/results/").json()

    assert response.status_code == 201
    assert results["total_votes"] == 1
    assert [(c["text"], c["votes"], c["share"]) for c in results["choices"]] == [
        ("Yes", 1, 1.0),
        ("No", 0, 0.0),
    ]


def test_a_second_vote_is_a_409_and_changes_nothing(user_api):
    poll = PollFactory()
    yes, no = poll.choices.all()
    user_api.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": yes.pk}, format="json")

    response = user_api.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": no.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    assert dict(Choice.objects.values_list("text", "votes")) == {"Yes": 1, "No": 0}


@pytest.mark.parametrize(
    ("payload", "status"),
    [({}, 400), ({"choice_id": "abc"}, 400), ({"choice_id": -1}, 400), ({"choice_id": [1]}, 400)],
)
def test_vote_rejects_bad_input(user_api, payload, status):
    poll = PollFactory()
    response = user_api.post(f"/api/polls/{poll.pk}/vote/", payload, format="json")
    assert response.status_code == status
    assert "choice_id" in response.json()
    assert not Vote.objects.exists()


def test_vote_for_a_choice_of_another_poll_is_a_400(user_api):
    poll, other = PollFactory(), PollFactory()
    choice_id = other.choices.first().pk
    response = user_api.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": choice_id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "choice_not_in_poll"
    assert not Vote.objects.exists()


def test_vote_on_a_closed_poll_is_a_409(user_api):
    poll = closed_poll()
    choice_id = poll.choices.first().pk
    response = user_api.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": choice_id}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "poll_closed"
    assert not Vote.objects.exists()


def test_vote_on_an_unknown_poll_is_a_404(user_api):
    response = user_api.post("/api/polls/424242/vote/", {"choice_id": 1}, format="json")
    assert response.status_code == 404
    assert not Vote.objects.exists()


def test_vote_needs_authentication(api_client):
    poll = PollFactory()
    choice_id = poll.choices.first().pk
    response = api_client.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": choice_id}, format="json")
    assert response.status_code == 401
    assert not Vote.objects.exists()


def test_a_browser_session_does_not_authenticate_the_api(user):
    """The API takes tokens only: a web login's session cookie acts for nobody here (no CSRF risk)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    poll = PollFactory()
    body = json.dumps({"choice_id": poll.choices.first().pk})
    response = client.post(f"/api/polls/{poll.pk}/vote/", body, content_type="application/json")
    assert response.status_code == 401
    assert not Vote.objects.exists()


def test_token_endpoint(api_client, user):
    from tests.factories import PASSWORD

    response = api_client.post("/api/auth/token/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40
    wrong = api_client.post("/api/auth/token/", {"username": user.username, "password": "nope"})
    assert wrong.status_code == 400


def test_throttling_answers_429(user_api, monkeypatch):
    from runtime.drf_throttles import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"vote": "2/min", "export": "2/min"})
    poll = PollFactory()
    url = f"/api/polls/{poll.pk}/vote/"
    statuses = [user_api.post(url, {}, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert "Retry-After" in user_api.post(url, {}, format="json").headers
