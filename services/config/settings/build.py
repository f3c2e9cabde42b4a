"""Settings for the image build: collectstatic once over every service's apps.

The static image gets the files; web and api get the manifest (staticfiles.json) from the same run.
Every settings part is included (tests/test_settings.py checks that no role has a name this lacks),
with the apps of web and api, the services that serve static files.
"""

from runtime.secret_key import weak_secret_key_allowed

# collectstatic signs nothing and this role never serves: the Dockerfile passes a placeholder
# DJANGO_SECRET_KEY (collectstatic-only) that every serving role refuses (runtime.secret_key).
with weak_secret_key_allowed():
    from . import api, web
    from .base import *  # noqa: F403
    from .parts.celery_consumer import *  # noqa: F403
    from .parts.export_tasks import *  # noqa: F403
    from .parts.periodic_tasks import *  # noqa: F403
    from .parts.rest_api import *  # noqa: F403
    from .parts.web_accounts import *  # noqa: F403

INSTALLED_APPS = list(dict.fromkeys([*web.INSTALLED_APPS, *api.INSTALLED_APPS]))
ROOT_URLCONF = web.ROOT_URLCONF
SERVICE_NAME = web.SERVICE_NAME
