"""PostgreSQL: the connections, and the time limits every session of the app runs under."""

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


# Connections per gunicorn process (web, api): a pool, so a replica holds at most
# GUNICORN_WORKERS x POSTGRES_POOL_SIZE connections however many threads it runs, and the
# autoscaling maxima stay inside max_connections (docs/performance.md, `make capacity`). A request
# borrows a connection at its first query and gives it back when it ends; most requests (cached
# reads) never borrow one. A request waits at most POSTGRES_POOL_WAIT_MS for one, from the pool or
# newly opened, then gets a 503. Short, because a pool cannot tell "busy" from "database down": it
# keeps trying to connect in the background and every request waits out the full time, holding a
# gunicorn thread that cached reads need (docs/decisions/0005-connection-pool-per-process.md).
# 0 turns the pool off: one persistent connection per thread (behind PgBouncer, say).
POSTGRES_POOL_SIZE = env_int("POSTGRES_POOL_SIZE", 3)
POSTGRES_POOL_WAIT_MS = env_int("POSTGRES_POOL_WAIT_MS", 2000)
if POSTGRES_POOL_SIZE < 0:
    raise ImproperlyConfigured(f"POSTGRES_POOL_SIZE must be 0 (no pool) or more, got {POSTGRES_POOL_SIZE}.")
if POSTGRES_POOL_WAIT_MS < 1:
    raise ImproperlyConfigured(f"POSTGRES_POOL_WAIT_MS must be 1 or more milliseconds, got {POSTGRES_POOL_WAIT_MS}.")


def databases(*, statement_timeout_ms: int, pool_size: int) -> dict:
    """Return DATABASES, a new dict each call, with this role's statement timeout.

    pool_size: the most connections of a pool per process; 0 for one persistent connection per
    thread instead, reused for POSTGRES_CONN_MAX_AGE seconds.
    """
    options = {
        # Fail fast (then 503) when the database is unreachable, rather than hang a worker.
        "connect_timeout": env_int("POSTGRES_CONNECT_TIMEOUT", 3),
        "options": postgres_session_options(statement_timeout_ms=statement_timeout_ms),
    }
    if pool_size:
        options["pool"] = {
            "min_size": 1,  # one warm connection per process, more on demand
            "max_size": pool_size,
            "timeout": POSTGRES_POOL_WAIT_MS / 1000,
            # A failed connection attempt is retried in the background with a doubling delay, and
            # the pool starts no other until that chain gives up (psycopg_pool's default: after 5
            # minutes), so after an outage the pool came back as late as the next retry: 9 s after
            # an 8 s restart (the postgres-restart drill). Giving up after 2 s lets the next request
            # start a fresh attempt, which connects as soon as PostgreSQL answers.
            "reconnect_timeout": 2,
        }
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": env_str("POSTGRES_HOST", "postgres"),
            "PORT": env_int("POSTGRES_PORT", 5432),
            "NAME": env_str("POSTGRES_DB"),
            "USER": env_str("POSTGRES_USER"),
            "PASSWORD": env_str("POSTGRES_PASSWORD"),
            # Reused connections save a TCP + auth round trip per request (Django refuses
            # CONN_MAX_AGE with a pool: the pool keeps them); health checks drop a connection that
            # died while idle (PostgreSQL restarted) instead of failing a request.
            "CONN_MAX_AGE": 0 if pool_size else env_int("POSTGRES_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    }


DATABASES = databases(statement_timeout_ms=POSTGRES_STATEMENT_TIMEOUT_MS, pool_size=POSTGRES_POOL_SIZE)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
