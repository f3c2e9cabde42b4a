"""Settings for the test suite: every service's apps at once, against real PostgreSQL and Redis.

`make test` publishes the compose stack's PostgreSQL and Redis on 127.0.0.1; the defaults below
point there. Tests use their own database (test_<name>) and Redis databases, so they never touch
the running stack's data or queues.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("POSTGRES_HOST", "127.0.0.1")
os.environ.setdefault("POSTGRES_PORT", "55432")
os.environ.setdefault("POSTGRES_DB", "polls")
os.environ.setdefault("POSTGRES_USER", "polls")
os.environ.setdefault("POSTGRES_PASSWORD", "polls")
os.environ.setdefault("CACHE_REDIS_URL", "redis://127.0.0.1:56379/15")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:56379/14")

from runtime.secret_key import weak_secret_key_allowed  # noqa: E402

# The default key above is a placeholder that every serving role refuses (runtime.secret_key); tests
# sign nothing that outlives them. tests/test_secret_key.py checks the refusal itself.
with weak_secret_key_allowed():
    # Every settings part, the worker's consumer settings included: the test suite's real Celery
    # worker runs with these settings (tests/worker/conftest.py), as the worker service runs with
    # its own; requests keep their statement and broker timeouts.
    from .build import *  # noqa: E402, F403

# django_migration_linter (a dev requirement, never in the images) adds `manage.py lintmigrations`,
# which make test runs with these settings; its options are in pyproject.toml (docs/releases.md).
INSTALLED_APPS = [*INSTALLED_APPS, "worker", "django_migration_linter"]  # noqa: F405
ROOT_URLCONF = "tests.urls"
SERVICE_NAME = "test"

# Tests read lists right after the writes that change them; the per-process copies, which delay
# that by up to a second, have a test of their own (tests/domain/test_cache.py).
POLL_LIST_LOCAL_SECONDS = 0

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Hashing passwords slowly is the point in production and pure waste in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
