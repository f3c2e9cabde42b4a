"""Settings for the Celery worker and beat (and the one-off migrate run, which uses this image)."""

from .base import *  # noqa: F403
from .parts.celery_consumer import *  # noqa: F403
from .parts.database import databases
from .parts.export_tasks import *  # noqa: F403
from .parts.periodic_tasks import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "worker"]  # noqa: F405
SERVICE_NAME = "worker"

# The worker's own values of settings every role has. Set here, not in celery_consumer, so the
# merged settings (test, build, monolith) keep the values requests get.
# The worker waits on the broker by design; give its commands more room than a request gets.
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": 5}  # noqa: F405
# Prefork children run one task at a time: one persistent connection each, no pool threads.
DATABASES = databases(statement_timeout_ms=WORKER_STATEMENT_TIMEOUT_MS, pool_size=0)  # noqa: F405
