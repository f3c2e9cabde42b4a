"""Cross-cutting middleware shared by web and api."""

import logging
import re
import socket
import time

from django.conf import settings
from django.db import InterfaceError, InternalError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from psycopg.errors import IdleInTransactionSessionTimeout

from runtime import health, metrics
from runtime.request_id import HEADER, clean_request_id, current_request_id

logger = logging.getLogger(__name__)

_PROBES = {"/healthz": health.liveness, "/readyz": health.readiness}


class HealthMiddleware:
    """Answer /healthz, /readyz and /metrics before anything that inspects the Host header.

    Probes come from kubelets and Prometheus with pod IPs as Host, so they must not reach host
    validation, HTTPS redirects or sessions. The gateway does not forward these paths.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = _PROBES.get(request.path)
        if probe is not None:
            status, body = probe()
            return JsonResponse(body, status=status)
        if request.path == "/metrics":
            payload, content_type = metrics.render()
            return HttpResponse(payload, content_type=content_type)
        return self.get_response(request)


class RequestIdMiddleware:
    """Take the request id from the gateway's header, expose it to logs and echo it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = clean_request_id(request.headers.get(HEADER))
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request_id
        return response


class MetricsMiddleware:
    """Count requests and time them, labelled by route pattern rather than raw path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = match.route if match is not None else "unmatched"
        metrics.LATENCY.labels(route=route).observe(time.perf_counter() - started)
        metrics.REQUESTS.labels(metrics.method_label(request.method), route, response.status_code).inc()
        return response


class MalformedRequestMiddleware:
    """Refuse requests no real client sends before any view sees them.

    An unknown HTTP method gets 405 on every route (views would otherwise each decide), and a NUL
    byte in the query string or a form body gets 400: NUL is never valid text here, and
    PostgreSQL cannot store it in a text column, so it would fail deep in a view instead. A path
    with other scripts' digits is a 404: no path here holds them, and int() reads them, so the
    admin took /admin/domain/poll/١٢/delete/ for poll 12 (tests/e2e/test_hostile_requests.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in metrics.METHODS:
            response = _refusal(request, 405, "Method not allowed.")
            response["Allow"] = ", ".join(sorted(metrics.METHODS))
            return response
        if _nul_in_query(request.META.get("QUERY_STRING", "")) or _nul_in_form(request):
            return _refusal(request, 400, "NUL characters are not allowed in the request.")
        if _FOREIGN_DIGIT.search(request.path_info):
            raise Http404("No such page.")  # the service's own 404 page (web) or JSON (api)
        return self.get_response(request)


# A decimal digit other than 0-9: "١٢" (Arabic-Indic), "１２" (fullwidth)...
_FOREIGN_DIGIT = re.compile(r"(?![0-9])\d")


def _nul_in_query(raw: str) -> bool:
    # Percent-encoded or raw: a literal "%00" in a query is itself encoded as "%2500".
    return "%00" in raw or "\x00" in raw


def _nul_in_form(request: HttpRequest) -> bool:
    # Form posts only (JSON strings are checked by DRF's fields), on the raw body: parsing it here
    # would turn a malformed body into Django's generic 400 instead of the view's own answer. This
    # app takes no file uploads, so a raw NUL in a multipart body is in a field.
    if request.method != "POST" or request.content_type not in _FORM_TYPES:
        return False
    body = request.body
    return b"\x00" in body or (request.content_type == _URLENCODED and b"%00" in body)


_URLENCODED = "application/x-www-form-urlencoded"
_FORM_TYPES = {_URLENCODED, "multipart/form-data"}


def _refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{status}</title><p>{message}</p></html>",
        status=status,
    )


class ReplicaHeaderMiddleware:
    """Name the replica that served the response (X-Served-By), when REPLICA_HEADER_ENABLED."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.replica = socket.gethostname()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.REPLICA_HEADER_ENABLED:
            response["X-Served-By"] = self.replica
        return response


class DependencyErrorMiddleware:
    """Turn an unreachable database into a fast, clear 503 instead of a 500 and a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_unavailable(exception):
            return None
        logger.error("database unavailable: %s", exception)
        if request.accepts("text/html") and not request.path.startswith("/api/"):
            response = HttpResponse(_UNAVAILABLE_HTML, status=503)
        else:
            response = JsonResponse({"detail": _UNAVAILABLE}, status=503)
        response["Retry-After"] = "5"
        return response


def _is_unavailable(exception: Exception) -> bool:
    """Return True for database errors that say "try again", not "this request is wrong".

    An unreachable or restarting server, a statement cancelled by statement_timeout (psycopg's
    QueryCanceled is an OperationalError), and a session PostgreSQL ended for sitting idle in a
    transaction (idle_in_transaction_session_timeout: an InternalError, SQLSTATE 25P03).
    """
    if isinstance(exception, OperationalError | InterfaceError):
        return True
    return isinstance(exception, InternalError) and isinstance(exception.__cause__, IdleInTransactionSessionTimeout)


_UNAVAILABLE = "The service is temporarily unavailable. Please retry shortly."
# Plain markup, no template: rendering must not need the database that just failed.
_UNAVAILABLE_HTML = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Temporarily unavailable</title>"
    f"<h1>Temporarily unavailable</h1><p>{_UNAVAILABLE}</p></html>"
)
