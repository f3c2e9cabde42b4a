"""Settings shared by every role. Role modules import this and add what only they need."""

from pathlib import Path

from datetime import timedelta

from config.env import env_bool, env_int, env_list, env_str
from config.secret_key import secret_key_from_env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# A published (CHANGE-ME...) or short key stops start-up in every role (config.secret_key).
SECRET_KEY = secret_key_from_env("DJANGO_SECRET_KEY")
# Former keys, still accepted for signatures made with them while a rotation rolls out (sessions
# and reset links stay valid); drop them once every pod runs the new key and the sessions expired.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

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
    "config.middleware.HealthMiddleware",
    "config.middleware.RequestIdMiddleware",
    "config.middleware.MetricsMiddleware",
    "config.middleware.ReplicaHeaderMiddleware",
    "config.middleware.DependencyErrorMiddleware",
    # Unknown methods (405) and NUL bytes (400) never reach a view; counted by MetricsMiddleware.
    "config.middleware.MalformedRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes documents: it turns a locked-out login into config.login_limits' 429.
    "axes.middleware.AxesMiddleware",
]

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


def env_milliseconds(name: str, default: int) -> int:
    """Return a duration in milliseconds (0: no limit), or stop with a message naming it."""
    from django.core.exceptions import ImproperlyConfigured

    value = env_int(name, default)
    if value < 0:
        raise ImproperlyConfigured(f"{name} must be 0 (no limit) or a number of milliseconds, got {value}.")
    return value


# Guards on every session the app opens: PostgreSQL cancels a statement that runs too long and
# ends a session left idle inside a transaction, so neither can hold a gunicorn thread, row locks
# or vacuum for long. A cancelled statement is an OperationalError, answered with a 503 like an
# unreachable database (config.middleware). Requests get POSTGRES_STATEMENT_TIMEOUT_MS; the worker
# role sets its own (export builds may read more), and `manage.py migrate` lifts it for its run,
# bounding lock waits with MIGRATE_LOCK_TIMEOUT_MS instead (domain's migrate command).
POSTGRES_STATEMENT_TIMEOUT_MS = env_milliseconds("POSTGRES_STATEMENT_TIMEOUT_MS", 5000)
POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS = env_milliseconds("POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60000)
MIGRATE_LOCK_TIMEOUT_MS = env_milliseconds("MIGRATE_LOCK_TIMEOUT_MS", 5000)


def postgres_session_options(*, statement_timeout_ms: int) -> str:
    """Return libpq's `options` string: the settings every new session of the app starts with."""
    return (
        f"-c statement_timeout={statement_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS}"
    )


DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env_str("POSTGRES_HOST", "postgres"),
        "PORT": env_int("POSTGRES_PORT", 5432),
        "NAME": env_str("POSTGRES_DB"),
        "USER": env_str("POSTGRES_USER"),
        "PASSWORD": env_str("POSTGRES_PASSWORD"),
        # Persistent connections save a TCP + auth round trip per request; health checks drop a
        # connection that died while idle (PostgreSQL restarted) instead of failing a request.
        "CONN_MAX_AGE": env_int("POSTGRES_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # Fail fast (then 503) when the database is unreachable, rather than hang a worker.
            "connect_timeout": env_int("POSTGRES_CONNECT_TIMEOUT", 3),
            "options": postgres_session_options(statement_timeout_ms=POSTGRES_STATEMENT_TIMEOUT_MS),
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Export requests per user, counted in PostgreSQL by domain's export_request for web and api
# alike: at most EXPORT_REQUEST_LIMIT new exports in any EXPORT_REQUEST_WINDOW_SECONDS, then 429
# with Retry-After. Unlike the api's cache-backed throttles it holds while Redis is down, and it
# bounds the rows each user can add. Load-test stacks raise it in their own files.
EXPORT_REQUEST_LIMIT = env_int("EXPORT_REQUEST_LIMIT", 10)
EXPORT_REQUEST_WINDOW_SECONDS = env_int("EXPORT_REQUEST_WINDOW_SECONDS", 600)

CACHES = {
    "default": {
        # Swallows Redis outages: reads miss and fall through to the database, writes are dropped.
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": env_str("CACHE_REDIS_URL"),
        "TIMEOUT": env_int("CACHE_DEFAULT_TIMEOUT", 60),
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

# Login limits (django-axes): failed logins through authenticate() (web login, admin login, API
# token) are counted per client address and, separately, per username; either reaching
# LOGIN_FAILURE_LIMIT locks logins out (429 + Retry-After, config.login_limits) until
# LOGIN_LOCKOUT_SECONDS have passed since the latest attempt, the right password included.
# The counts live in PostgreSQL (axes' database handler), so the limits hold while Redis is down:
# they must not fail open the way the cache-backed API throttles do.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_LOCKOUT_SECONDS", 900))
# Either parameter alone trips the lock: many passwords for one user from many addresses, or many
# users from one address.
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
AXES_USERNAME_CALLABLE = "config.login_limits.username_of"
AXES_LOCKOUT_CALLABLE = "config.login_limits.lockout_response"
AXES_LOCKOUT_TEMPLATE = None  # web sets its page; the api answers JSON
# A success must not wipe the address's failures, or an attacker with one account of their own
# could log into it between guesses at others.
AXES_RESET_ON_SUCCESS = False
# An attempt while locked out restarts the wait, so Retry-After (the full lockout) is exact.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# Successful logins are not written to a table that nothing reads or trims; the JSON logs have them.
AXES_DISABLE_ACCESS_LOG = True

# Sessions live in PostgreSQL, so a login survives a Redis restart and any replica can serve it.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# collectstatic runs once, at image build time; web and api ship only the manifest it writes, the
# static service ships the files. Hashed names therefore always match across services.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# Production-safe by default; the compose stack turns HTTPS-only settings off for local HTTP.
# The gateway (behind a TLS-terminating Ingress) forwards the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# HSTS preload is a commitment made by the domain's owner with the browser vendors, not a default
# a template should make; see https://hstspreload.org/#removal.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# A response header naming the replica that served the request, to see load balancing at work.
REPLICA_HEADER_ENABLED = env_bool("REPLICA_HEADER_ENABLED", False)

# Celery producer settings (web and api send tasks by name; the worker role adds consumer settings).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"exports.*": {"queue": "exports"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged task is redelivered after this long. It must exceed the hard time limit,
    # or a task that is still running would be handed to a second worker.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + env_int("CELERY_VISIBILITY_MARGIN", 60),
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that sends a task waits at most about a second for an unreachable broker.
# One retry, so a pooled connection that went stale (Redis restarted) reconnects; then give up and
# leave the row to the sweeper. A request never waits long on Redis, so a Redis outage cannot
# tie up every gunicorn thread with export requests.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

# Home page: polls per page and how long a rendered page list stays cached.
POLLS_PER_PAGE = env_int("POLLS_PER_PAGE", 20)
HOME_CACHE_SECONDS = env_int("HOME_CACHE_SECONDS", 30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs every 4xx as a warning; the gateway access log already records them.
        "django.request": {"level": "ERROR"},
    },
}
