"""Settings for the api service: Django REST Framework under /api/ with an OpenAPI schema."""

from .base import *  # noqa: F403
from .parts.rest_api import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "drf_spectacular", "drf_spectacular_sidecar", "api"]  # noqa: F405
ROOT_URLCONF = "api.urls"
MIDDLEWARE = [name for name in MIDDLEWARE if name not in SESSION_MIDDLEWARE]  # noqa: F405
# The checks that assume session middleware, none of which applies to the api:
SILENCED_SYSTEM_CHECKS = [
    *SILENCED_SYSTEM_CHECKS,  # noqa: F405
    # CSRF protects cookie-authenticated requests; the API takes tokens only (parts/rest_api.py).
    "security.W003",
    # The admin is installed in every role for its table (migrate runs once for all); api.urls
    # routes no admin page.
    "admin.E408",
    "admin.E409",
    "admin.E410",
    # The token view answers a locked-out login with 429 itself (api.views.auth).
    "axes.W002",
]
