"""Poll operations: list, create, detail, vote and results."""

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import error_responses
from api.serializers import IdField, PollOutput
from domain import errors
from domain.cache import cached_poll_list
from domain.selectors import PollStatus, poll_cached, poll_get, poll_list, poll_results_from
from domain.services import poll_create, vote_cast
from domain.services.polls import MAX_CHOICES, MIN_CHOICES
from runtime.url_numbers import page_number


class PollListCreateApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    class PollFilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=[s.value for s in PollStatus], required=False)

    class PollCreateInput(serializers.Serializer):
        question = serializers.CharField(max_length=200)
        choices = serializers.ListField(
            child=serializers.CharField(max_length=200),
            min_length=MIN_CHOICES,
            max_length=MAX_CHOICES,
        )
        opens_at = serializers.DateTimeField(required=False)
        closes_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=[s.value for s in PollStatus])],
        responses=PollOutput(many=True),
    )
    def get(self, request):
        status_filter = request.query_params.get("status")
        if status_filter is not None and status_filter not in PollStatus:  # the serializer words the 400
            self.PollFilterInput(data=request.query_params).is_valid(raise_exception=True)
        # ASCII digits of bounded length only, as DRF's paginator answers other bad pages: 404.
        page = page_number(request.query_params.get(PageNumberPagination.page_query_param, "1"))
        if page is None:
            raise NotFound("Invalid page.")
        # Keyed by host as well: the next and previous links are absolute URLs.
        key = f"api:{request.get_host()}:{status_filter}:{page}"
        body = cached_poll_list(
            key, lambda: self._list_page(request, status_filter), timeout=settings.API_POLL_LIST_CACHE_SECONDS
        )
        return HttpResponse(body, content_type="application/json")

    def _list_page(self, request, status_filter: str | None) -> bytes:
        """Return the page as the JSON bytes the API answers with.

        The cache holds these bytes, so a cached read neither re-serializes nor re-renders: DRF's
        rendering of the page was a tenth of a cached read's CPU (docs/performance.md).
        """
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(poll_list(status=status_filter), request, view=self)
        context = {"now": timezone.now()}
        data = paginator.get_paginated_response(PollOutput(page, many=True, context=context).data).data
        return JSONRenderer().render(data)

    @extend_schema(request=PollCreateInput, responses={201: PollOutput, **error_responses(errors.DomainError)})
    def post(self, request):
        data = self.PollCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        poll = poll_create(owner=request.user, **data.validated_data)
        poll = poll_get(poll_id=poll.pk)
        output = PollOutput(poll, context={"now": timezone.now()})
        return Response(output.data, status=status.HTTP_201_CREATED)


class PollDetailApi(APIView):
    @extend_schema(responses={200: PollOutput, **error_responses(errors.NotFound)})
    def get(self, request, poll_id: int):
        return _cached_json(poll_id, "api-detail", lambda poll, now: PollOutput(poll, context={"now": now}).data)


class PollVoteApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "vote"

    class VoteInput(serializers.Serializer):
        choice_id = IdField()

    class VoteOutput(serializers.Serializer):
        poll_id = serializers.IntegerField()
        choice_id = serializers.IntegerField()
        cast_at = serializers.DateTimeField()

    @extend_schema(
        request=VoteInput,
        responses={
            201: VoteOutput,
            **error_responses(errors.NotFound, errors.PollClosed, errors.AlreadyVoted, errors.ChoiceNotInPoll),
        },
    )
    def post(self, request, poll_id: int):
        data = self.VoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        vote = vote_cast(user=request.user, poll_id=poll_id, **data.validated_data)
        return Response(self.VoteOutput(vote).data, status=status.HTTP_201_CREATED)


class PollResultsApi(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "PollResults",
                {
                    "poll_id": serializers.IntegerField(),
                    "question": serializers.CharField(),
                    "total_votes": serializers.IntegerField(),
                    "choices": inline_serializer(
                        "ChoiceResult",
                        {
                            "id": serializers.IntegerField(),
                            "text": serializers.CharField(),
                            "votes": serializers.IntegerField(),
                            "share": serializers.FloatField(),
                        },
                        many=True,
                    ),
                },
            ),
            **error_responses(errors.NotFound),
        }
    )
    def get(self, request, poll_id: int):
        return _cached_json(poll_id, "api-results", lambda poll, now: self._results(poll))

    @staticmethod
    def _results(poll) -> dict:
        results = poll_results_from(poll)
        return {
            "poll_id": poll.pk,
            "question": poll.question,
            "total_votes": results.total_votes,
            "choices": [vars(choice) for choice in results.choices],
        }


def _cached_json(poll_id: int, view: str, data) -> HttpResponse:
    """Answer one poll's read from the cached JSON bytes, built by data(poll, now) on a miss.

    Like the list, the cache holds what the API answers, so a hit neither serializes nor renders.
    """
    body = poll_cached(poll_id=poll_id, view=view, render=lambda poll, now: JSONRenderer().render(data(poll, now)))
    return HttpResponse(body, content_type="application/json")
