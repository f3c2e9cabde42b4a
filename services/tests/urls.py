"""Both services' routes in one URLconf, so one test run covers web and api."""

from api.urls import urlpatterns as api_urlpatterns
from monolith.urls import handler400, handler404  # noqa: F401 - the api answers JSON, web HTML
from web.urls import urlpatterns as web_urlpatterns

urlpatterns = [*api_urlpatterns, *web_urlpatterns]
