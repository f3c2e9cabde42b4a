"""Both services' routes in one URLconf, so one test run covers web and api."""

from django.views import defaults

from api import handlers
from api.urls import urlpatterns as api_urlpatterns
from web.urls import urlpatterns as web_urlpatterns

urlpatterns = [*api_urlpatterns, *web_urlpatterns]


# Each service answers what reaches no view its own way (api.urls: JSON; web: its HTML pages).
def handler404(request, exception):
    if request.path.startswith("/api/"):
        return handlers.not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler400(request, exception):
    if request.path.startswith("/api/"):
        return handlers.bad_request(request, exception)
    return defaults.bad_request(request, exception)
