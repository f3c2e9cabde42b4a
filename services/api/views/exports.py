"""Export operations: request a CSV of a poll's results, follow it, download it."""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import error_responses
from api.serializers import IdField
from domain.errors import ExportLimitReached, ExportNotReady, NotFound
from domain.models import ResultExport
from domain.selectors import export_get, export_get_ready
from domain.services import export_request


class ExportOutput(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ResultExport
        fields = ["id", "poll_id", "status", "error", "created_at", "finished_at", "status_url", "download_url"]

    def get_status_url(self, export: ResultExport) -> str:
        return self.context["request"].build_absolute_uri(reverse("api:export-detail", args=[export.pk]))

    def get_download_url(self, export: ResultExport) -> str | None:
        if export.status != ResultExport.Status.DONE:
            return None
        return self.context["request"].build_absolute_uri(reverse("api:export-download", args=[export.pk]))


class ExportCreateApi(APIView):
    """Request an export; while one of the same poll is pending or running, that one is returned.

    Two limits apply: the `export` throttle scope (per request, in the cache) and the domain's
    EXPORT_REQUEST_LIMIT (new exports per user, in PostgreSQL, shared with web). Both answer 429
    with Retry-After.
    """

    permission_classes = [IsAuthenticated]
    throttle_scope = "export"

    class ExportInput(serializers.Serializer):
        poll_id = IdField()

    @extend_schema(
        request=ExportInput,
        responses={202: ExportOutput, **error_responses(NotFound, ExportLimitReached)},
    )
    def post(self, request):
        data = self.ExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        export = export_request(user=request.user, **data.validated_data)
        output = ExportOutput(export, context={"request": request}).data
        return Response(output, status=status.HTTP_202_ACCEPTED, headers={"Location": output["status_url"]})


class ExportDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ExportOutput, **error_responses(NotFound)})
    def get(self, request, export_id: int):
        export = export_get(export_id=export_id, user=request.user)
        return Response(ExportOutput(export, context={"request": request}).data)


class ExportDownloadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(NotFound, ExportNotReady)})
    def get(self, request, export_id: int):
        export = export_get_ready(export_id=export_id, user=request.user)
        response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="poll-{export.poll_id}-results.csv"'
        return response
