"""Casting a vote: one per user per poll, counted without lost updates."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from domain.cache import poll_voted
from domain.errors import AlreadyVoted, ChoiceNotInPoll, NotFound, PollClosed
from domain.models import Choice, Poll, Vote


@transaction.atomic
def vote_cast(*, user: AbstractBaseUser, poll_id: int, choice_id: int, now: datetime | None = None) -> Vote:
    """Record the user's vote for a choice of an open poll, or raise without writing anything."""
    now = now or timezone.now()
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        raise NotFound("No such poll.")
    if not poll.is_open(now):
        raise PollClosed("This poll is not open for voting.")
    choice = Choice.objects.filter(pk=choice_id, poll_id=poll.pk).first()
    if choice is None:
        raise ChoiceNotInPoll("That choice does not belong to this poll.")
    try:
        # A savepoint, so the unique-constraint violation leaves the outer transaction usable.
        with transaction.atomic():
            vote = Vote.objects.create(poll=poll, choice=choice, user=user)
    except IntegrityError:
        raise AlreadyVoted("You have already voted in this poll.") from None
    # Row-level increment in the database: concurrent voters queue on the row lock, none is lost.
    Choice.objects.filter(pk=choice.pk).update(votes=F("votes") + 1)
    # Only this poll's detail and results: lists show counts at most their TTL old (domain.cache).
    transaction.on_commit(lambda: poll_voted(poll.pk))
    return vote
