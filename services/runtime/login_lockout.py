"""Answer a locked-out login attempt: 429 with Retry-After, as HTML or JSON.

django-axes counts failed logins in PostgreSQL per client address and per username (settings
AXES_*) and, once either reaches the limit, refuses every login attempt from that address or for
that username, the right password included, until the lockout time has passed since the last
attempt. Axes itself sends no Retry-After; this is its AXES_LOCKOUT_CALLABLE, so browsers, the
admin and API clients all get the same status and header.
"""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

MESSAGE = "Too many failed login attempts. Try again later."
_USERNAME_COLUMN = 255  # axes.models.AccessAttempt.username


def username_of(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """Return the username a login attempt is counted under (AXES_USERNAME_CALLABLE).

    Axes's own lookup, cut to the 255 characters its table holds: Django's login forms check the
    username's length only in the browser, so a longer one reached the database and failed there
    with a 500 (tests/test_hostile_requests.py).
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    username = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return username[:_USERNAME_COLUMN] if isinstance(username, str) else username


def lockout_seconds() -> int:
    """Return how long a lockout lasts after the latest failed attempt, in whole seconds."""
    cool_off = settings.AXES_COOLOFF_TIME
    return int(cool_off.total_seconds()) if isinstance(cool_off, timedelta) else 0


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """Return the 429 a locked-out login attempt gets, with Retry-After.

    Axes's failed-attempt count restarts the lockout on every attempt made while locked out
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so Retry-After is exact: the full lockout.
    """
    seconds = lockout_seconds()
    if request.path.startswith("/api/") or not request.accepts("text/html"):
        response = JsonResponse({"detail": MESSAGE, "retry_after": seconds}, status=429)
    else:
        context = {"message": MESSAGE, "retry_after_minutes": max(1, -(-seconds // 60))}
        template = settings.AXES_LOCKOUT_TEMPLATE
        body = render_to_string(template, context, request=request) if template else _PLAIN_HTML
        response = HttpResponse(body, status=429)
    response["Retry-After"] = str(seconds)
    return response


# Where no template is configured (the api service has none; it answers JSON anyway).
_PLAIN_HTML = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Too many attempts</title>"
    f"<h1>Too many attempts</h1><p>{MESSAGE}</p></html>"
)
