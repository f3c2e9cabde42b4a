"""Settings for the image build: collectstatic once over every service's apps.

The static image gets the files; web and api get the manifest (staticfiles.json) from the same run.
"""

from config.secret_key import weak_secret_key_allowed

# collectstatic signs nothing and this role never serves: the Dockerfile passes a placeholder
# DJANGO_SECRET_KEY (collectstatic-only) that every serving role refuses (config.secret_key).
with weak_secret_key_allowed():
    from .api import INSTALLED_APPS as API_APPS
    from .api import API_POLL_LIST_CACHE_SECONDS, REST_FRAMEWORK, SPECTACULAR_SETTINGS  # noqa: F401
    from .web import *  # noqa: F403

INSTALLED_APPS = list(dict.fromkeys([*INSTALLED_APPS, *API_APPS]))  # noqa: F405
