"""Routes of the benchmark monolith: the api's and web's routes, plus static files from Django.

The api's patterns come first, as the gateway sends /api/ to api before anything else reaches web.
Static files are served by `django.views.static.serve` from STATIC_ROOT (the collectstatic output
copied into the image): the way a single Django server would serve them without nginx, which is
what the static service is measured against.
"""

from django.conf import settings
from django.urls import re_path
from django.views import defaults
from django.views.static import serve

from api import handlers
from api.urls import urlpatterns as api_urlpatterns
from web.urls import urlpatterns as web_urlpatterns

urlpatterns = [
    *api_urlpatterns,
    re_path(r"^static/(?P<path>.+)$", serve, {"document_root": settings.STATIC_ROOT}),
    *web_urlpatterns,
]


# Each service answers what reaches no view its own way (api.urls: JSON; web: its HTML pages).
# tests.urls, which also serves both, uses these too.
def handler404(request, exception):
    if request.path.startswith("/api/"):
        return handlers.not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler400(request, exception):
    if request.path.startswith("/api/"):
        return handlers.bad_request(request, exception)
    return defaults.bad_request(request, exception)
