"""Fill the database with demo data in volume: users, polls, choices and votes.

For demos and load tests. Idempotent: users are created only if missing, and polls only up to the
requested count, so running it twice leaves the same amount of data.

The users it creates share a password published in the README, so anyone could log in as them:
it refuses to run without --allow-public-password, which `make seed` and the test, load and drill
stacks pass, and a production deployment never should.
"""

import random
import time
from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from domain.models import Choice, Poll, Vote

DEMO_PASSWORD = "polls-demo-password"  # demo accounts only; documented in the README
USERNAME = "demo{:05d}"
BATCH = 2000
CONSENT_FLAG = "--allow-public-password"


class Command(BaseCommand):
    help = "Create demo users, polls, choices and votes (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=200)
        parser.add_argument("--polls", type=int, default=300)
        parser.add_argument("--votes-per-poll", type=int, default=40)
        parser.add_argument("--seed", type=int, default=42, help="random seed, for repeatable data")
        parser.add_argument(
            CONSENT_FLAG,
            action="store_true",
            help=f"required: create users whose password ({DEMO_PASSWORD}) is published; demo and test stacks only",
        )

    def handle(self, *args, users: int, polls: int, votes_per_poll: int, seed: int, **options):
        if not options["allow_public_password"]:
            raise CommandError(
                f"seed creates {users} users whose password ({DEMO_PASSWORD!r}) is published in the README, "
                f"so anyone could log in as them. Run it only on a demo or test stack, with {CONSENT_FLAG}."
            )
        rng = random.Random(seed)
        started = time.monotonic()
        people = self._users(users)
        missing = polls - Poll.objects.filter(question__startswith="[demo]").count()
        if missing <= 0:
            self.stdout.write(f"{polls} demo polls already exist; nothing to add.")
            return
        now = timezone.now()
        for start in range(0, missing, 100):
            count = min(100, missing - start)
            with transaction.atomic():
                self._polls(rng, people, count, votes_per_poll, now)
            self.stdout.write(f"  polls: {start + count}/{missing}")
        self.stdout.write(self.style.SUCCESS(f"Seeded {missing} polls in {time.monotonic() - started:.1f}s."))

    def _users(self, count: int) -> list:
        User = get_user_model()
        wanted = [USERNAME.format(i) for i in range(count)]
        existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
        password = make_password(DEMO_PASSWORD)  # hash once: hashing is slow on purpose
        User.objects.bulk_create(
            (User(username=name, password=password) for name in wanted if name not in existing),
            batch_size=BATCH,
        )
        self.stdout.write(f"  users: {count} ({count - len(existing)} new)")
        return list(User.objects.filter(username__in=wanted))

    def _polls(self, rng, people, count, votes_per_poll, now) -> None:
        polls = []
        for _ in range(count):
            # Mostly open polls, some closed and some upcoming, so every filter has data.
            opens_at = now - timedelta(days=rng.randint(-2, 30))
            polls.append(
                Poll(
                    question=f"[demo] Question {rng.randrange(10**6)}: which do you prefer?",
                    owner=rng.choice(people),
                    opens_at=opens_at,
                    closes_at=opens_at + timedelta(days=rng.randint(1, 60)),
                )
            )
        created = Poll.objects.bulk_create(polls)
        choices = Choice.objects.bulk_create(
            Choice(poll=poll, text=f"Option {letter}") for poll in created for letter in "ABCDE"[: rng.randint(2, 5)]
        )
        by_poll: dict[int, list[Choice]] = {}
        for choice in choices:
            by_poll.setdefault(choice.poll_id, []).append(choice)
        votes, tally = [], Counter()
        for poll in created:
            for user in rng.sample(people, min(votes_per_poll, len(people))):
                choice = rng.choice(by_poll[poll.pk])
                votes.append(Vote(poll=poll, choice=choice, user=user))
                tally[choice.pk] += 1
        Vote.objects.bulk_create(votes, batch_size=BATCH)
        for choice in choices:
            choice.votes = tally[choice.pk]
        Choice.objects.bulk_update(choices, ["votes"], batch_size=BATCH)
