"""A WSGI app for the gunicorn tests: `/slow` keeps a request in flight for a while, and
`/dies-before-body` kills its worker process after gunicorn wrote the headers, before the body."""

import os
import signal
import time

SLOW_SECONDS = 3.0


def app(environ, start_response):
    if environ["PATH_INFO"] == "/dies-before-body":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return _killed_after_the_headers()
    if environ["PATH_INFO"] == "/slow":
        time.sleep(SLOW_SECONDS)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _killed_after_the_headers():
    yield b""  # gunicorn writes the headers with the first item, then this empty body
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or a `docker kill` would
    yield b"never"
