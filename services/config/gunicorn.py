"""gunicorn settings for web and api (`gunicorn -c python:config.gunicorn config.wsgi`).

Shutdown, in order: SIGTERM marks the replica as draining (/readyz answers 503, responses close
their connection) while it keeps serving for DRAIN_SECONDS, so load balancers take it out of
rotation; then gunicorn stops accepting and gives requests in flight GUNICORN_GRACEFUL_TIMEOUT
seconds to finish.
Variables are read with config.env's helpers, so a mistyped number stops start-up naming it.
DRAIN_SECONDS + GUNICORN_GRACEFUL_TIMEOUT must stay below the orchestrator's grace period
(compose stop_grace_period, Kubernetes terminationGracePeriodSeconds minus the preStop wait).
"""

import gc
import os
import shutil
import signal

from config.env import env_int, env_str
from runtime.drain import DRAIN_MARKER

bind = f"0.0.0.0:{env_int('PORT', 8000)}"
# gthread (a few processes with threads each, so a slow request does not block a whole process
# and persistent database connections are reused across requests), closing its listener as soon
# as it stops accepting: see runtime.gunicorn_worker.
worker_class = "runtime.gunicorn_worker.ThreadWorkerClosingListener"
workers = env_int("GUNICORN_WORKERS", 2)
threads = env_int("GUNICORN_THREADS", 4)
timeout = env_int("GUNICORN_TIMEOUT", 30)
# Import Django once in the master, before the port is bound: a new replica never holds
# connections in its backlog while its workers import, and they share the imported code's memory.
preload_app = True
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Longer than the gateway's upstream keepalive idle time, so gunicorn never closes a connection
# the gateway is about to reuse.
keepalive = env_int("GUNICORN_KEEPALIVE", 75)
drain_seconds = env_int("DRAIN_SECONDS", 0)
# Heartbeat files on tmpfs: the read-only root filesystem has no other writable place.
worker_tmp_dir = "/tmp"
accesslog = None  # the gateway logs every request once, with the request id
errorlog = "-"
loglevel = env_str("LOG_LEVEL", "INFO").lower()  # the same variable as the JSON logs
control_socket_disable = True


def on_starting(server):
    """Start with a clean slate: no drain marker and no metric files from a previous run."""
    DRAIN_MARKER.unlink(missing_ok=True)
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.makedirs(metrics_dir, exist_ok=True)


def when_ready(server):
    """Replace the master's SIGTERM handling with drain-then-stop."""
    stop = server.handle_term

    def handle_term():
        if drain_seconds <= 0 or DRAIN_MARKER.exists():
            return stop()  # second SIGTERM, or draining disabled: stop gracefully now
        server.log.info("SIGTERM: draining for %ss before stopping", drain_seconds)
        DRAIN_MARKER.touch()
        # The master loop is single-threaded; SIGALRM re-queues SIGTERM, which then stops it.
        signal.signal(signal.SIGALRM, lambda *_: server.signal(signal.SIGTERM, None))
        signal.alarm(drain_seconds)

    server.handle_term = handle_term


def pre_fork(server, worker):
    """Freeze the master's objects (Django, the app, settings) out of the workers' garbage collection.

    Python's full collections then no longer walk every object imported at start-up in each
    worker, and no longer write to their pages, so they stay shared with the master instead of
    being copied into every worker (the gc.freeze documentation's advice for fork servers).
    """
    gc.freeze()


def pre_request(worker, req):
    """While draining, answer with `Connection: close`.

    The gateway then stops reusing kept-alive connections to this replica, so when the listener
    closes it meets a refused connection, which it retries on another replica even for a POST,
    instead of a kept-alive connection closed under a request it already sent.
    """
    if DRAIN_MARKER.exists():
        req.must_close = True


def child_exit(server, worker):
    """Drop a dead worker's live gauges so /metrics keeps adding up."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
