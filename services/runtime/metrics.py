"""Prometheus metrics that stay correct with several gunicorn worker processes.

Each worker process writes its samples to files in PROMETHEUS_MULTIPROC_DIR; /metrics merges them,
so a scrape sees the whole replica no matter which worker answers it.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# The methods this app serves; any other method is labelled OTHER, so a client inventing methods
# cannot add label values (and series) to /metrics without bound. runtime.middleware answers it 405.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"

REQUESTS = Counter(
    "django_http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "django_http_request_duration_seconds",
    "Time spent answering a request, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Cached reads of polls (domain.cache), by what was read: "list" (API pages, the home page) or
# "poll" (one poll's detail or results), and how it was answered: "hit" (Redis), "local" (the
# process's own copy of a list) or "miss" (built). The bench reads the hit ratio from these under a
# mix of reads and votes.
CACHE_READS = Counter("polls_cache_reads_total", "Cached poll reads, by kind and result.", ["kind", "result"])


def method_label(method: str | None) -> str:
    """Return the method as a label value: a known method as is, anything else OTHER."""
    return method if method in METHODS else OTHER_METHOD


def render() -> tuple[bytes, str]:
    """Return the exposition text for this replica and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
