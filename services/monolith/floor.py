"""The floor `make bench` measures every API and page figure against: a bare Django JSON view.

Served from the monolith image (the same Python, packages and gunicorn configuration as the api)
with the api's gunicorn settings and CPU quota (service `floor` in loadtest/compose/bench.yml) and
config.settings.floor: no middleware, no database, no cache. What a request costs Django and
gunicorn alone; the answer is about the size of a cached page of the poll list.
"""

from django.http import HttpResponse, JsonResponse
from django.urls import path

# Twenty polls as the API lists them: about as many bytes as a real page (6.5 kB).
PAGE = {
    "count": 300,
    "next": "http://floor/api/polls/?page=2",
    "previous": None,
    "results": [
        {
            "id": n,
            "question": f"Which of these options would you choose for question number {n}?",
            "opens_at": "2026-12-01T00:00:00Z",
            "closes_at": "2026-12-31T00:00:00Z",
            "is_open": True,
            "choices": [{"id": 4 * n + c, "text": f"Option {c}"} for c in range(3)],
        }
        for n in range(1, 21)
    ],
}


def poll_page(request):
    return JsonResponse(PAGE)


def ready(request):
    return HttpResponse("ok", content_type="text/plain")


# The api's paths, so the bench's gateway in front of the floor routes to it unchanged.
urlpatterns = [
    path("api/polls/", poll_page),
    path("healthz", ready),
    path("readyz", ready),
]
