"""Output serializers shared by several operations (inputs live next to their view)."""

from rest_framework import serializers

from domain.models import Choice, Poll


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
