"""factory_boy factories for the domain models."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from domain.models import Choice, Poll

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PollFactory(factory.django.DjangoModelFactory):
    """An open poll (opened an hour ago, closing in a day) with two choices."""

    class Meta:
        model = Poll
        skip_postgeneration_save = True

    question = factory.Sequence(lambda n: f"Question {n}?")
    owner = factory.SubFactory(UserFactory)
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))

    @factory.post_generation
    def choices(poll, create, extracted, **kwargs):
        if create:
            for text in extracted or ["Yes", "No"]:
                Choice.objects.create(poll=poll, text=text)


def closed_poll(**kwargs) -> Poll:
    """Return a poll whose voting window ended an hour ago."""
    now = timezone.now()
    return PollFactory(opens_at=now - timedelta(days=2), closes_at=now - timedelta(hours=1), **kwargs)
