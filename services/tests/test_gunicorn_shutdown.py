"""gunicorn, with the project's config, stopping while a request is in flight.

Runs the real gunicorn master and workers (config.gunicorn) around a tiny WSGI app, so the test is
about the process model and sockets, not Django.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.slow_wsgi import SLOW_SECONDS
from tests.waiting import wait_for

SERVICES = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn():
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "DRAIN_SECONDS": "0",
        "GUNICORN_GRACEFUL_TIMEOUT": "10",
        "PROMETHEUS_MULTIPROC_DIR": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "tests.slow_wsgi:app"],
        cwd=SERVICES,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), timeout=15, what="gunicorn to answer")
        yield process, port, url
    finally:
        process.kill()
        process.wait(10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _send_get(port: int, path: str = "/") -> str:
    """Connect, send one request and read the status line; say how it ended."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=SLOW_SECONDS * 4) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            return conn.recv(64).split(b"\r\n", 1)[0].decode() or "closed without an answer"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "reset"


def test_stopping_replica_refuses_new_connections_while_it_finishes_one_in_flight(gunicorn):
    process, port, url = gunicorn
    in_flight = {}

    def slow_request():
        with urllib.request.urlopen(f"{url}/slow", timeout=SLOW_SECONDS * 4) as response:
            in_flight["status"] = response.status

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the workers have stopped accepting; the slow request is still running

    # A connection accepted into the backlog now would be reset once the request above finished,
    # after its request was sent: a gateway cannot retry that for a POST. A refused one it can.
    assert _send_get(port) == "refused"
    thread.join(SLOW_SECONDS * 4)
    assert in_flight.get("status") == 200
    assert process.wait(SLOW_SECONDS * 4) == 0


def test_a_worker_killed_between_headers_and_body_sends_nothing_the_gateway_could_not_retry(gunicorn):
    """A status line without its body cannot be retried by the gateway (it has passed it on);
    nothing at all can. The worker holds the headers until the first body bytes."""
    _, port, url = gunicorn

    assert _send_get(port, "/dies-before-body") in ("closed without an answer", "reset")
    wait_for(lambda: _answers(url), timeout=15, what="the master to replace the killed worker")


def test_responses_without_a_body_still_get_their_headers(gunicorn):
    """HEAD has no body to carry the held headers: they go out when the response ends."""
    _, _, url = gunicorn
    request = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200 and response.headers["Content-Length"] == "2"
        assert response.read() == b""


def test_workers_fork_with_the_masters_objects_frozen():
    """pre_fork moves every object the master holds out of the collector's reach (gc.freeze)."""
    import gc

    from config import gunicorn as config

    gc.unfreeze()
    try:
        config.pre_fork(server=None, worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
