"""Database queries per endpoint, exactly, so that none creeps in unnoticed (an N+1 in a serializer,
a session read on an anonymous page, a cached read that reaches PostgreSQL).

A change that adds or removes a query fails here; update the count when the change is meant.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import PollFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def polls():
    """More polls than a page, so every list is paginated and every serializer runs many times."""
    return PollFactory.create_batch(25)


def _queries(client, method: str, path: str, **kwargs) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, **kwargs)
    assert response.status_code < 400, (path, response.status_code)
    return len(captured), [q["sql"] for q in captured.captured_queries]


# (method, path template, queries on a cold cache, queries right after on a warm one)
ANONYMOUS_READS = [
    ("get", "/api/polls/", 3, 0),  # count, one page of polls, their choices; then Redis only
    ("get", "/api/polls/{poll}/", 2, 0),  # the poll, its choices; then Redis only
    ("get", "/api/polls/{poll}/results/", 2, 0),
    ("get", "/", 3, 0),
    ("get", "/polls/{poll}/", 2, 2),
    ("get", "/polls/{poll}/results/", 2, 2),
]


@pytest.mark.parametrize(("method", "template", "cold", "warm"), ANONYMOUS_READS)
def test_an_anonymous_read_makes_a_fixed_number_of_queries(client, polls, method, template, cold, warm):
    path = template.format(poll=polls[0].pk)

    first, first_sql = _queries(client, method, path)
    second, second_sql = _queries(client, method, path)

    assert first == cold, first_sql
    assert second == warm, second_sql


def test_a_vote_through_the_api_makes_a_fixed_number_of_queries(user_api, polls):
    poll = polls[0]
    choice = poll.choices.first()

    count, sql = _queries(user_api, "post", f"/api/polls/{poll.pk}/vote/", data={"choice_id": choice.pk}, format="json")

    # The token with its user; the poll and the choice; the vote, in a savepoint of its own
    # (a duplicate becomes AlreadyVoted); the choice's count. The other four are the savepoints of
    # transaction.atomic, which inside the test's own transaction stand for BEGIN and COMMIT.
    assert count == 9, sql
