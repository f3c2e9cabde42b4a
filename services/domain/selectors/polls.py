"""Queries about polls: lists, one poll, its results, and the cached reads of them."""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from domain.cache import cached_poll_read
from domain.errors import NotFound
from domain.models import Choice, Poll, Vote

T = TypeVar("T")


class PollStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    UPCOMING = "upcoming"


def _open_at(now: datetime) -> Q:
    return Q(closed_at__isnull=True, opens_at__lte=now, closes_at__gt=now)


def poll_list(*, status: PollStatus | None = None, now: datetime | None = None) -> QuerySet[Poll]:
    """Return polls, newest first, with their choices; optionally only open, closed or upcoming."""
    now = now or timezone.now()
    polls = Poll.objects.select_related("owner").prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("id"))
    )
    if status == PollStatus.OPEN:
        polls = polls.filter(_open_at(now))
    elif status == PollStatus.CLOSED:
        polls = polls.filter(Q(closed_at__isnull=False) | Q(closes_at__lte=now))
    elif status == PollStatus.UPCOMING:
        polls = polls.filter(closed_at__isnull=True, opens_at__gt=now)
    return polls


def poll_get(*, poll_id: int) -> Poll:
    """Return one poll with its choices, or raise NotFound."""
    poll = poll_list().filter(pk=poll_id).first()
    if poll is None:
        raise NotFound("No such poll.")
    return poll


@dataclass(frozen=True)
class ChoiceResult:
    id: int
    text: str
    votes: int
    share: float


@dataclass(frozen=True)
class PollResults:
    poll: Poll
    total_votes: int
    choices: list[ChoiceResult]


def poll_results(*, poll_id: int) -> PollResults:
    """Return each choice's votes and share of the total."""
    return poll_results_from(poll_get(poll_id=poll_id))


def poll_results_from(poll: Poll) -> PollResults:
    """Return the results of a poll fetched with its choices (poll_get)."""
    choices = list(poll.choices.all())
    total = sum(choice.votes for choice in choices)
    return PollResults(
        poll=poll,
        total_votes=total,
        choices=[ChoiceResult(c.id, c.text, c.votes, (c.votes / total) if total else 0.0) for c in choices],
    )


def user_has_voted(*, user: AbstractBaseUser, poll_id: int) -> bool:
    """Return True if this (authenticated) user has voted in the poll."""
    return user.is_authenticated and Vote.objects.filter(poll_id=poll_id, user=user).exists()


@dataclass(frozen=True)
class HomePage:
    polls: list[dict]
    number: int
    num_pages: int
    has_previous: bool
    has_next: bool


def poll_cached(*, poll_id: int, view: str, render: Callable[[Poll, datetime], T]) -> T:
    """Return render(poll, now) for one poll, cached until a vote in it, a poll is created or
    closed, it opens or closes, or POLL_CACHE_SECONDS pass; raise NotFound for no such poll.

    view names what render makes (API JSON, results), so each is cached apart.
    """

    def build() -> tuple[int, T]:
        now = timezone.now()
        poll = poll_get(poll_id=poll_id)
        change = poll.next_change(now)
        seconds = settings.POLL_CACHE_SECONDS
        if change is not None:  # whole seconds, at least one (0 would not store it): within a second
            seconds = max(1, min(seconds, int((change - now).total_seconds())))
        return seconds, render(poll, now)

    return cached_poll_read(poll_id, view, build, timeout=lambda built: built[0])[1]


def poll_home_page(*, page: int) -> HomePage:
    """Return one page of open polls for the home page (the web view caches what it renders)."""
    polls = poll_list(status=PollStatus.OPEN).annotate(total_votes=Sum("choices__votes"))
    paginator = Paginator(polls.order_by("closes_at", "id"), settings.POLLS_PER_PAGE)
    page_obj = paginator.get_page(page)
    return HomePage(
        polls=[
            {
                "id": poll.pk,
                "question": poll.question,
                "closes_at": poll.closes_at,
                "total_votes": poll.total_votes or 0,
            }
            for poll in page_obj.object_list
        ],
        number=page_obj.number,
        num_pages=paginator.num_pages,
        has_previous=page_obj.has_previous(),
        has_next=page_obj.has_next(),
    )
