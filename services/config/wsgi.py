"""WSGI entry point for gunicorn in the web and api services.

The image sets DJANGO_SETTINGS_MODULE to its role (config.settings.web or config.settings.api);
there is deliberately no default here, so a misconfigured container fails at start-up.
"""

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

application = get_wsgi_application()

# Import every view and build the URL maps now, not on the first request. With gunicorn's
# preload_app this runs once in the master before the port is bound, so a replica that has just
# joined the gateway's rotation answers its first requests as fast as the rest.
_resolver = get_resolver()
_resolver.url_patterns  # noqa: B018 - evaluating the properties is the point
_resolver.reverse_dict  # noqa: B018
