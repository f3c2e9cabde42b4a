"""A WSGI app for the gunicorn shutdown test: `/slow` keeps a request in flight for a while."""

import time

SLOW_SECONDS = 3.0


def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(SLOW_SECONDS)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
