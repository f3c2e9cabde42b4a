"""Celery as the worker consumes tasks: acknowledgement, prefetch, queues, reconnects, database use.

Names only the worker role has. Where the worker changes a setting every role has (the broker's
socket timeout, the statement timeout), the worker role applies the change (worker.py), so the
merged settings (test, build, monolith) keep the request-side values.
"""

from kombu import Queue

from config.env import env_int, env_list, env_milliseconds

# Redelivery instead of loss: a task is acknowledged only after it finished, and a task whose
# worker process died is rejected back to the queue. Tasks are idempotent, so a rerun is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Celery's Django fixup closes the database connection before and after every task unless
# CELERY_DB_REUSE_MAX is set, so each task opened a new PostgreSQL session: about 7 ms of
# PostgreSQL CPU per export, as much as the export itself (make bench). With it set, the fixup
# closes connections only every this many tasks, and worker.celery_worker closes them between tasks
# the way Django does between requests: when broken, or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
# An export build reads a whole poll's results: more time per statement than a request gets
# (POSTGRES_STATEMENT_TIMEOUT_MS, database), still well inside the task's soft time limit.
WORKER_STATEMENT_TIMEOUT_MS = env_milliseconds("WORKER_STATEMENT_TIMEOUT_MS", 60000)
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
