"""Output serializers shared by several operations (inputs live next to their view)."""

from rest_framework import serializers

from domain.models import Choice, Poll
from runtime.url_numbers import BIGINT_MAX, id_number


class IdField(serializers.IntegerField):
    """A database id in a request body: an integer, or ASCII digits only, from 1 to bigint's maximum.

    DRF's IntegerField also reads other scripts' digits ("١٢"), " 1" and "1.0", and has no upper
    bound, so an id beyond bigint would reach PostgreSQL.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and id_number(data) is None:
            self.fail("invalid")
        return super().to_internal_value(data)


class ChoiceOutput(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "text", "votes"]


class PollOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    is_open = serializers.SerializerMethodField()
    choices = ChoiceOutput(many=True)

    class Meta:
        model = Poll
        fields = ["id", "question", "owner", "opens_at", "closes_at", "is_open", "choices"]

    def get_is_open(self, poll: Poll) -> bool:
        return poll.is_open(self.context["now"])
