"""Creating polls and closing the ones whose voting window has passed."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from domain.cache import polls_changed
from domain.errors import DomainError
from domain.models import Choice, Poll

CLOSE_EXPIRED_TASK = "polls.close_expired"
MIN_CHOICES = 2
MAX_CHOICES = 20


@transaction.atomic
def poll_create(
    *,
    owner: AbstractBaseUser,
    question: str,
    choices: list[str],
    closes_at: datetime,
    opens_at: datetime | None = None,
) -> Poll:
    """Create a poll with its choices; it opens now unless opens_at says otherwise."""
    opens_at = opens_at or timezone.now()
    texts = [text.strip() for text in choices if text.strip()]
    if not MIN_CHOICES <= len(texts) <= MAX_CHOICES:
        raise DomainError(f"A poll needs between {MIN_CHOICES} and {MAX_CHOICES} choices.")
    if len(set(texts)) != len(texts):
        raise DomainError("Choices must be different from each other.")
    if closes_at <= opens_at:
        raise DomainError("closes_at must be later than opens_at.")
    poll = Poll.objects.create(owner=owner, question=question.strip(), opens_at=opens_at, closes_at=closes_at)
    Choice.objects.bulk_create(Choice(poll=poll, text=text) for text in texts)
    transaction.on_commit(polls_changed)
    return poll


def poll_close_expired(*, now: datetime | None = None) -> int:
    """Mark every poll whose closes_at has passed as closed; return how many were closed.

    A single conditional UPDATE: running it twice, or on two workers at once, closes each poll
    exactly once.
    """
    now = now or timezone.now()
    closed = Poll.objects.filter(closed_at__isnull=True, closes_at__lte=now).update(closed_at=now)
    if closed:
        polls_changed()
    return closed
