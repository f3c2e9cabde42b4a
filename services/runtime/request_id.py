"""The id of the request being handled, shared by logging, task headers and responses.

The gateway sets X-Request-ID on every request (or passes a valid incoming one); the id follows
the work into Celery tasks through a task header, so one id ties a page view to its export.
"""

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def clean_request_id(value: str | None) -> str:
    """Return the given id if it is safe to log and echo, otherwise a new random one."""
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex
