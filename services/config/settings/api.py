"""Settings for the api service: Django REST Framework under /api/ with an OpenAPI schema."""

from .base import *  # noqa: F403
from .parts.rest_api import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "drf_spectacular", "drf_spectacular_sidecar", "api"]  # noqa: F405
ROOT_URLCONF = "api.urls"
SERVICE_NAME = "api"
