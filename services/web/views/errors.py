"""Answer domain errors on server-rendered pages with the status and headers the api gives them.

Both come from the error itself (domain.errors.ErrorKind); only the page is the web's choice.
"""

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse

from domain.errors import DomainError, ErrorKind


def as_error_page(response: HttpResponse, error: DomainError) -> HttpResponse:
    """Return the page that explains the error, with the error's status and headers."""
    response.status_code = error.status
    for name, value in error.headers.items():
        response[name] = value
    return response


def not_found_as_404(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Return the view, answering a domain error of kind NOT_FOUND with the site's 404 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            if error.kind is not ErrorKind.NOT_FOUND:
                raise
            raise Http404(error.message) from error

    return wrapped
