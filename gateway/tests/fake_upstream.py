"""Stand in for web, api and static behind the gateway under test.

Runs inside a container made from PYTHON_IMAGE (standard library only), on the test's own
network with the aliases web, api and static (or, as an extra replica, an alias of the test's
choosing), and listens on each service's port (8000, 8001, 8080). Every request, whatever its
method and path, is answered 200 with a JSON echo of what arrived: the service, the replica's
hostname, method, path, the request headers and the body's length, and with the hostname in
X-Served-By, as the real services send it. That lets a test read what the gateway sent
upstream (X-Forwarded-For, X-Forwarded-Proto...) and which replica answered.

A few paths misbehave on purpose, to stand for a replica in trouble:
  /big...        the echo padded to about 11 KB, so the gateway compresses it
  /api/flaky...  503 when FAKE_FLAKY=1 (a replica that is shutting down or not ready)
  /api/hold...   with FAKE_HOLD_SECONDS=N, held N s and then the connection closed without
                 an answer (a replica that fails mid-request)
"""

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS = {8000: "web", 8001: "api", 8080: "static"}
FLAKY = os.environ.get("FAKE_FLAKY") == "1"
HOLD_SECONDS = float(os.environ.get("FAKE_HOLD_SECONDS") or 0)
HOST = socket.gethostname()


class EchoHandler(BaseHTTPRequestHandler):
    """Answer every request with a JSON echo of it."""

    protocol_version = "HTTP/1.1"
    service = "fake"

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = 0
        while received < length:
            chunk = self.rfile.read(min(65536, length - received))
            if not chunk:
                break
            received += len(chunk)
        if HOLD_SECONDS and self.path.startswith("/api/hold"):
            time.sleep(HOLD_SECONDS)
            self.close_connection = True
            return
        echo = {
            "service": self.service,
            "host": HOST,
            "method": self.command,
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body_length": received,
        }
        if self.path.startswith("/big"):
            echo["filler"] = "lorem ipsum dolor sit amet " * 400
        body = json.dumps(echo).encode()
        self.send_response(503 if FLAKY and self.path.startswith("/api/flaky") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", HOST)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = answer

    def log_message(self, *args) -> None:
        """Log nothing: the gateway's access log is the one the tests read."""


def serve(port: int, service: str) -> ThreadingHTTPServer:
    """Start an echo server for one service on its port, in a daemon thread."""
    handler = type(f"{service.title()}Handler", (EchoHandler,), {"service": service})
    server = ThreadingHTTPServer(("0.0.0.0", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    servers = [serve(port, service) for port, service in PORTS.items()]
    print(f"fake upstream {HOST} on {sorted(PORTS)}", flush=True)
    threading.Event().wait()
