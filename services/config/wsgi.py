"""WSGI entry point for gunicorn in the web and api services.

The image sets DJANGO_SETTINGS_MODULE to its role (config.settings.web or config.settings.api);
there is deliberately no default here, so a misconfigured container fails at start-up.
"""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
