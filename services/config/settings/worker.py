"""Settings for the Celery worker and beat (and the one-off migrate run, which uses this image)."""

from kombu import Queue

from config.env import env_int, env_list

from .base import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "worker"]  # noqa: F405
SERVICE_NAME = "worker"

# Redelivery instead of loss: a task is acknowledged only after it finished, and a task whose
# worker process died is rejected back to the queue. Tasks are idempotent, so a rerun is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The worker waits on the broker by design; give its commands more room than a request gets.
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": 5}  # noqa: F405
# Celery's Django fixup closes the database connection before and after every task unless
# CELERY_DB_REUSE_MAX is set, so each task opened a new PostgreSQL session: about 7 ms of
# PostgreSQL CPU per export, as much as the export itself (make bench). With it set, the fixup
# closes connections only every this many tasks, and worker.celery_app closes them between tasks
# the way Django does between requests: when broken, or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
# An export build reads a whole poll's results: more time per statement than a request gets
# (POSTGRES_STATEMENT_TIMEOUT_MS, base), still well inside the task's soft time limit.
WORKER_STATEMENT_TIMEOUT_MS = env_milliseconds("WORKER_STATEMENT_TIMEOUT_MS", 60000)  # noqa: F405
DATABASES = {  # a new dict: base's is shared with every role imported in the same process
    "default": {
        **DATABASES["default"],  # noqa: F405
        "OPTIONS": {
            **DATABASES["default"]["OPTIONS"],  # noqa: F405
            "options": postgres_session_options(statement_timeout_ms=WORKER_STATEMENT_TIMEOUT_MS),  # noqa: F405
        },
    }
}
# One task at a time per process: a long export never blocks a message another worker could run.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 2)
# The queues this worker consumes. Exports have their own queue, so a second worker service with
# WORKER_QUEUES=exports can scale export capacity without touching the default queue.
CELERY_TASK_QUEUES = [Queue(name) for name in env_list("WORKER_QUEUES", ["default", "exports"])]
# Back on a returning broker within this many seconds (worker.consumer), and never give up on one
# that is away (Celery's default stops the worker after 100 tries).
CELERY_WORKER_CONSUMER = "worker.consumer:SteadyReconnectConsumer"
BROKER_RECONNECT_MAX_SECONDS = env_int("BROKER_RECONNECT_MAX_SECONDS", 2)
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False

# Every periodic schedule in one place; beat (exactly one replica) sends them.
CELERY_BEAT_SCHEDULE = {
    "close-expired-polls": {
        "task": "polls.close_expired",
        "schedule": env_int("CLOSE_EXPIRED_POLLS_EVERY", 60),
        # A tick that no worker picked up in time is dropped; the next one does the same work.
        "options": {"expires": 50},
    },
    "requeue-stale-exports": {
        "task": "exports.requeue_stale",
        "schedule": 60,
        "options": {"expires": 50},
    },
    "delete-expired-exports": {
        "task": "exports.delete_expired",
        "schedule": 300,
        "options": {"expires": 250},
    },
}
# An export still pending after this long lost its task (broker down when it was sent): resend it.
EXPORT_PENDING_GRACE_SECONDS = env_int("EXPORT_PENDING_GRACE_SECONDS", 120)
# An export started this many times without finishing is marked failed, and never sent again.
EXPORT_MAX_ATTEMPTS = env_int("EXPORT_MAX_ATTEMPTS", 3)
# Finished (done or failed) exports are deleted this long after they finished.
EXPORT_RETENTION_SECONDS = env_int("EXPORT_RETENTION_SECONDS", 86400)
# Beat wakes at least this often, which also keeps its heartbeat file fresh.
CELERY_BEAT_MAX_LOOP_INTERVAL = 5

