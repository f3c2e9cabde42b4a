"""Both services' routes in one URLconf, so one test run covers web and api."""

from api.urls import urlpatterns as api_urlpatterns
from web.urls import urlpatterns as web_urlpatterns

urlpatterns = [*api_urlpatterns, *web_urlpatterns]
