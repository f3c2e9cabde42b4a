"""Settings for the web service: server-rendered pages, sign-up/login and the admin."""

from .base import *  # noqa: F403
from .parts.web_accounts import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "web"]  # noqa: F405
ROOT_URLCONF = "web.urls"
SERVICE_NAME = "web"
