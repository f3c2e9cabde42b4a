"""The Django project every role runs: apps, middleware, templates, locale."""

from pathlib import Path

from config.env import env_bool

# services/: this file is services/config/settings/parts/project.py.
BASE_DIR = Path(__file__).resolve().parents[3]

# Every app that owns tables is installed in every role, so `manage.py migrate` (run once per
# release from the worker image) creates all of them, and no role sees a half-migrated schema.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "domain",
]

# Health, metrics and request-id middleware come first: probes must not be redirected to HTTPS or
# rejected by host validation, and every later log line should carry the request id.
MIDDLEWARE = [
    "runtime.middleware.HealthMiddleware",
    "runtime.middleware.RequestIdMiddleware",
    "runtime.middleware.MetricsMiddleware",
    "runtime.middleware.ReplicaHeaderMiddleware",
    "runtime.middleware.DependencyErrorMiddleware",
    # Unknown methods (405) and NUL bytes (400) never reach a view; counted by MetricsMiddleware.
    "runtime.middleware.MalformedRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes documents: it turns a locked-out login into runtime.login_lockout's 429.
    "axes.middleware.AxesMiddleware",
]

# What only a browser session needs: the api, which authenticates by token alone, leaves these out
# (config/settings/api.py). Together they were 13 % of the CPU of a cached API read
# (docs/performance.md), for cookies the API never reads.
SESSION_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
]

# A response header naming the replica that served the request, to see load balancing at work.
REPLICA_HEADER_ENABLED = env_bool("REPLICA_HEADER_ENABLED", False)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Sessions live in PostgreSQL, so a login survives a Redis restart and any replica can serve it.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
