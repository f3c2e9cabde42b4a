"""Settings for the benchmark monolith: web and api apps in one gunicorn (loadtest/bench).

Not a deployable role: it exists so `make bench` can compare the decomposed stack with the same
code run as one process. The URLconf lives in the top-level `monolith` package, because config
must not import the services (import-linter contracts in pyproject.toml).
"""

from .api import INSTALLED_APPS as API_APPS
from .api import REST_FRAMEWORK, SPECTACULAR_SETTINGS  # noqa: F401
from .web import *  # noqa: F403

INSTALLED_APPS = list(dict.fromkeys([*INSTALLED_APPS, *API_APPS]))  # noqa: F405
ROOT_URLCONF = "monolith.urls"
SERVICE_NAME = "monolith"
