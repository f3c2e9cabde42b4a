"""Answer domain errors as JSON, and describe those answers in the OpenAPI schema.

The status and headers of each answer come from the error itself (domain.errors.ErrorKind), as
the web pages' do, so the api and the web never disagree.
"""

from collections import defaultdict
from http import HTTPStatus

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from domain import errors


def exception_handler(exc, context):
    """Answer DomainError subclasses like DRF answers its own exceptions: a clear 4xx, never a 500."""
    if isinstance(exc, errors.DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status, headers=exc.headers)
    return drf_exception_handler(exc, context)


class DomainErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="What was refused and why, for a person to read.")
    # DRF's own errors of the same status (a throttle's 429, say) carry only `detail`.
    code = serializers.CharField(required=False, help_text="A stable code naming the domain error.")


def error_responses(*raised: type[errors.DomainError]) -> dict[int, OpenApiResponse]:
    """Return the schema's responses for the domain errors an operation can raise, by status."""
    codes_by_kind = defaultdict(list)
    for error in raised:
        codes_by_kind[error.kind].append(f"`{error.code}`")
    return {
        kind.status: OpenApiResponse(DomainErrorOutput, description=_describe(kind, codes))
        for kind, codes in codes_by_kind.items()
    }


def _describe(kind: errors.ErrorKind, codes: list[str]) -> str:
    description = f"{HTTPStatus(kind.status).phrase}: the domain refused; `code` is {' or '.join(codes)}."
    if kind is errors.ErrorKind.LIMITED:
        description += " The Retry-After header gives the seconds to wait."
    if kind is errors.ErrorKind.INVALID:
        description += " Malformed input is answered 400 too, with each field's errors."
    return description
