"""Writes: every change to the domain goes through a function here, named <entity>_<action>."""

from domain.services.exports import (
    EXPORT_TASK,
    REQUEUE_STALE_TASK,
    export_build,
    export_fail,
    export_request,
    export_requeue_stale,
)
from domain.services.polls import CLOSE_EXPIRED_TASK, poll_close_expired, poll_create
from domain.services.votes import vote_cast

__all__ = [
    "CLOSE_EXPIRED_TASK",
    "EXPORT_TASK",
    "REQUEUE_STALE_TASK",
    "export_build",
    "export_fail",
    "export_request",
    "export_requeue_stale",
    "poll_close_expired",
    "poll_create",
    "vote_cast",
]
