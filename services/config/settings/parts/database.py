"""PostgreSQL: the connection, and the time limits every session of the app runs under."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_int, env_milliseconds, env_str

# Guards on every session the app opens: PostgreSQL cancels a statement that runs too long and
# ends a session left idle inside a transaction, so neither can hold a gunicorn thread, row locks
# or vacuum for long. A cancelled statement is an OperationalError, answered with a 503 like an
# unreachable database (runtime.middleware). Requests get POSTGRES_STATEMENT_TIMEOUT_MS; the worker
# role sets its own (export builds may read more, celery_consumer), and `manage.py migrate` lifts
# it for its run, bounding lock waits with MIGRATE_LOCK_TIMEOUT_MS instead (domain's migrate command).
POSTGRES_STATEMENT_TIMEOUT_MS = env_milliseconds("POSTGRES_STATEMENT_TIMEOUT_MS", 5000)
POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS = env_milliseconds("POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60000)
MIGRATE_LOCK_TIMEOUT_MS = env_milliseconds("MIGRATE_LOCK_TIMEOUT_MS", 5000)
# A migration that timed out waiting for a lock is tried again this many times, after a short pause,
# before the run fails: a long transaction in the way usually ends within seconds (docs/releases.md).
MIGRATE_LOCK_RETRIES = env_int("MIGRATE_LOCK_RETRIES", 3)
if MIGRATE_LOCK_RETRIES < 0:
    raise ImproperlyConfigured(f"MIGRATE_LOCK_RETRIES must be 0 or more, got {MIGRATE_LOCK_RETRIES}.")


def postgres_session_options(*, statement_timeout_ms: int) -> str:
    """Return libpq's `options` string: the settings every new session of the app starts with."""
    return (
        f"-c statement_timeout={statement_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS}"
    )


def databases(*, statement_timeout_ms: int) -> dict:
    """Return DATABASES, a new dict each call, with this role's statement timeout."""
    return {
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
                "options": postgres_session_options(statement_timeout_ms=statement_timeout_ms),
            },
        }
    }


DATABASES = databases(statement_timeout_ms=POSTGRES_STATEMENT_TIMEOUT_MS)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
