"""Liveness and readiness answers for web and api.

/healthz says the process can answer at all (no dependencies, so a database outage never gets
healthy replicas restarted). /readyz says the replica should receive traffic: not draining,
migrations applied, PostgreSQL and Redis reachable.
"""

import functools

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from redis.exceptions import RedisError

from runtime.drain import is_draining

_migrations_done = False


def liveness() -> tuple[int, dict]:
    """Return 200: answering this is the whole check."""
    return 200, {"status": "ok"}


def readiness() -> tuple[int, dict]:
    """Return 200 when this replica can serve requests, else 503 with the failing checks."""
    if is_draining():
        return 503, {"status": "draining"}
    checks = {"database": _check_database(), "redis": _check_redis()}
    if checks["database"] == "ok":
        checks["migrations"] = _check_migrations()
    ok = all(result == "ok" for result in checks.values())
    return (200 if ok else 503), {"status": "ok" if ok else "unavailable", "checks": checks}


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as exc:
        return f"error: {type(exc).__name__}"


def _check_migrations() -> str:
    # A replica of a new release must not take traffic until `migrate` has run. Once the plan is
    # empty it stays empty for this process, so the check is done once, not on every probe.
    global _migrations_done
    if _migrations_done:
        return "ok"
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return f"error: {type(exc).__name__}"
    if pending:
        return f"pending: {len(pending)}"
    _migrations_done = True
    return "ok"


@functools.cache
def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"], socket_connect_timeout=0.5, socket_timeout=0.5)


def _check_redis() -> str:
    try:
        _redis_client().ping()
        return "ok"
    except RedisError as exc:
        return f"error: {type(exc).__name__}"
