"""Reads: every query the services need, named <entity>_<what>."""

from domain.selectors.exports import export_get
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
    "poll_get",
    "poll_home_page",
    "poll_list",
    "poll_results",
    "user_has_voted",
]
