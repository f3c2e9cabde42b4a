"""Reads: every query the services need, named <entity>_<what>."""

from domain.selectors.exports import export_get, export_get_ready
from domain.selectors.polls import (
    PollStatus,
    poll_get,
    poll_home_page,
    poll_list,
    poll_results,
    user_has_voted,
)

__all__ = [
    "PollStatus",
    "export_get",
    "export_get_ready",
    "poll_get",
    "poll_home_page",
    "poll_list",
    "poll_results",
    "user_has_voted",
]
