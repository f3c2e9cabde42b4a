"""Map domain errors to HTTP answers: each a clear 4xx with a stable code, never a 500."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from domain import errors

STATUS_BY_ERROR = {
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.AlreadyVoted: status.HTTP_409_CONFLICT,
    errors.PollClosed: status.HTTP_409_CONFLICT,
    errors.ChoiceNotInPoll: status.HTTP_400_BAD_REQUEST,
    errors.ExportLimitReached: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.DomainError: status.HTTP_400_BAD_REQUEST,
}


def exception_handler(exc, context):
    """Answer DomainError subclasses like DRF answers its own exceptions."""
    if isinstance(exc, errors.DomainError):
        code = next(s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls))
        response = Response({"detail": exc.message, "code": exc.code}, status=code)
        if isinstance(exc, errors.ExportLimitReached):
            response["Retry-After"] = str(exc.retry_after)
        return response
    return drf_exception_handler(exc, context)
