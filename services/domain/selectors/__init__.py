"""Reads: every query the services need, named <entity>_<what>."""

from domain.selectors.exports import export_get, export_get_ready
from domain.selectors.polls import (
    PollStatus,
    poll_cached,
    poll_get,
    poll_home_page,
    poll_list,
    poll_results,
    poll_results_from,
    user_has_voted,
)

__all__ = [
    "PollStatus",
    "export_get",
    "export_get_ready",
    "poll_cached",
    "poll_get",
    "poll_home_page",
    "poll_list",
    "poll_results",
    "poll_results_from",
    "user_has_voted",
]
