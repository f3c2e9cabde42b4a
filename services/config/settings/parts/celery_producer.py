"""Celery as every role sends tasks (web and api send them by name); the worker and beat add
how they consume them (celery_consumer)."""

from config.env import env_int, env_str

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
