"""Small HTTP helpers shared by the web views."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url


class HttpResponseSeeOther(HttpResponseRedirect):
    """Redirect after a successful POST; 303 tells every client to follow it with a GET."""

    status_code = 303


def see_other(to: str, **kwargs) -> HttpResponseSeeOther:
    """Return a 303 redirect to a URL name (with its kwargs) or a URL."""
    return HttpResponseSeeOther(resolve_url(to, **kwargs))


def login_required_back_to(
    page: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Return a decorator that sends anonymous users to log in, then back to `page`.

    For POST-only views: login_required would bring users back to the POST URL with a GET,
    which answers 405. `page` is a URL name taking the same kwargs as the view.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(resolve_url(page, **kwargs))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
