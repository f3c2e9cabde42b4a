"""Map domain errors to HTTP statuses for server-rendered pages."""

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse

from domain.errors import AlreadyVoted, DomainError, ExportLimitReached, NotFound, PollClosed

# The same answers the api gives (api.errors); anything else the rules reject is a bad request.
_CONFLICTS = (AlreadyVoted, PollClosed)


def status_for(error: DomainError) -> int:
    """Return the HTTP status a page answers with when the domain rejects a request."""
    if isinstance(error, ExportLimitReached):
        return 429
    return 409 if isinstance(error, _CONFLICTS) else 400


def with_retry_after(response: HttpResponse, error: DomainError) -> HttpResponse:
    """Return the response, telling the client when to retry if the error is a limit."""
    if isinstance(error, ExportLimitReached):
        response["Retry-After"] = str(error.retry_after)
    return response


def not_found_as_404(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Return the view, answering the domain's NotFound with the site's 404 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(error.message) from error

    return wrapped
