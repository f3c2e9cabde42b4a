"""Settings for the benchmark monolith: web and api apps in one gunicorn (loadtest/polls_loadtest/bench).

Not a deployable role: it exists so `make bench` can compare the decomposed stack with the same
code run as one process. The URLconf lives in the top-level `monolith` package, because config
must not import the services (import-linter contracts in pyproject.toml).
"""

from .build import *  # noqa: F403 - every settings part, with web's and api's apps

ROOT_URLCONF = "monolith.urls"
SERVICE_NAME = "monolith"
