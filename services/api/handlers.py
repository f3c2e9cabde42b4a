"""Answers for requests that reach no view (no route matched, an unreadable body): JSON, like the
rest of the API, rather than Django's HTML pages."""

from django.http import HttpRequest, JsonResponse


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Answer a path that matches no route (an id beyond bigint, say) with a JSON 404."""
    return JsonResponse({"detail": "Not found."}, status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Answer a request Django could not read (a malformed form body, say) with a JSON 400."""
    return JsonResponse({"detail": "Bad request."}, status=400)
