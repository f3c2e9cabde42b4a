"""Casting votes: counted once, never lost under concurrency, rejected without side effects."""

import pytest

from domain.errors import AlreadyVoted, ChoiceNotInPoll, NotFound, PollClosed
from domain.models import Choice, Vote
from domain.services import vote_cast
from tests.concurrency import run_at_once
from tests.factories import PollFactory, UserFactory, closed_poll

pytestmark = pytest.mark.django_db


def test_a_vote_is_recorded_and_counted(user):
    poll = PollFactory()
    yes = poll.choices.get(text="Yes")

    vote_cast(user=user, poll_id=poll.pk, choice_id=yes.pk)

    yes.refresh_from_db()
    assert yes.votes == 1
    assert Vote.objects.filter(poll=poll, user=user, choice=yes).count() == 1


def test_a_second_vote_is_rejected_and_writes_nothing(user):
    poll = PollFactory()
    yes, no = poll.choices.all()
    vote_cast(user=user, poll_id=poll.pk, choice_id=yes.pk)

    with pytest.raises(AlreadyVoted):
        vote_cast(user=user, poll_id=poll.pk, choice_id=no.pk)

    assert list(poll.choices.values_list("text", "votes")) == [("Yes", 1), ("No", 0)]
    assert Vote.objects.filter(poll=poll).count() == 1


def test_votes_on_a_closed_poll_are_rejected(user):
    poll = closed_poll()
    with pytest.raises(PollClosed):
        vote_cast(user=user, poll_id=poll.pk, choice_id=poll.choices.first().pk)
    assert not Vote.objects.exists()


def test_a_choice_of_another_poll_is_rejected(user):
    poll, other = PollFactory(), PollFactory()
    with pytest.raises(ChoiceNotInPoll):
        vote_cast(user=user, poll_id=poll.pk, choice_id=other.choices.first().pk)
    assert not Vote.objects.exists()
    assert sum(Choice.objects.values_list("votes", flat=True)) == 0


def test_an_unknown_poll_is_not_found(user):
    with pytest.raises(NotFound):
        vote_cast(user=user, poll_id=999_999, choice_id=1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_by_many_users_are_all_counted():
    """Forty users voting at the same moment on separate connections: no update is lost."""
    poll = PollFactory()
    choice = poll.choices.first()
    voters = [UserFactory() for _ in range(40)]

    outcomes = run_at_once(lambda i: vote_cast(user=voters[i], poll_id=poll.pk, choice_id=choice.pk), threads=40)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    choice.refresh_from_db()
    assert choice.votes == 40
    assert Vote.objects.filter(poll=poll).count() == 40


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_votes_by_one_user_count_once(user):
    poll = PollFactory()
    choice = poll.choices.first()

    outcomes = run_at_once(lambda _: vote_cast(user=user, poll_id=poll.pk, choice_id=choice.pk), threads=8)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["AlreadyVoted"] * 7 + ["Vote"]
    choice.refresh_from_db()
    assert choice.votes == 1
