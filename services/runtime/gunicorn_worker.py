"""The gunicorn worker class for web and api: gthread, with its listener closed cleanly on stop,
and each response's headers sent together with its first body bytes.

gunicorn's gthread worker stops polling its listener when told to stop, but closes it only after
its requests in flight finish, up to graceful_timeout later. Meanwhile the kernel keeps completing
handshakes into the listen backlog, and when the socket finally closes those connections are reset
after the gateway has already sent its request on them. A reset GET is retried; a reset POST is
not (it may have been processed), so the user sees an error. This worker takes what is already in
the backlog and closes its listener at once instead: later connections are refused, and the gateway
retries a refused connection on another replica, POST included, because nothing was sent.

gunicorn also writes a response's headers and its body with two separate sendall calls, and a
thread can wait for the GIL between them. A replica killed in that gap (SIGKILL, the OOM killer)
has sent a status line and no body: the gateway has already passed the headers on, cannot retry,
and the client gets a truncated response (the kill-api drill saw one). Holding the headers back
until the first body bytes, and sending both in one call, leaves only two outcomes: nothing sent
(the gateway retries a GET on another replica) or the whole of a one-chunk response, which is
every ordinary Django response.
"""

from gunicorn.workers.gthread import ThreadWorker

# Bounds the final accept loop; a backlog is never longer than the listen queue (gunicorn's
# `backlog`, 2048 by default).
MAX_BACKLOG_ACCEPTS = 4096


class HeadersWithFirstBodyBytes:
    """A connection socket that holds the first sendall of a response (gunicorn's headers) back
    and sends it with the next non-empty one, or at the end of the response."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self._held = b""
        self._holding = True  # the first write of a response is always its header block

    def sendall(self, data) -> None:
        if self._holding:
            self._held, self._holding = bytes(data), False
            return
        if self._held and data:
            data, self._held = self._held + bytes(data), b""
        if data:
            self._sock.sendall(data)

    def sendfile(self, *args, **kwargs):
        self.flush()
        return self._sock.sendfile(*args, **kwargs)

    def flush(self) -> None:
        """Send what is held (a response without a body: HEAD, 204, 304, an empty body)."""
        if self._held:
            held, self._held = self._held, b""
            self._sock.sendall(held)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class ThreadWorkerClosingListener(ThreadWorker):
    def handle_request(self, req, conn):
        sock = conn.sock
        conn.sock = HeadersWithFirstBodyBytes(sock)
        try:
            return super().handle_request(req, conn)
        finally:
            try:
                conn.sock.flush()
            except OSError:
                pass  # the client went away; gunicorn handles the connection as before
            conn.sock = sock

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # stopping, not merely at worker_connections
            self._accept_backlog_and_close()

    def _accept_backlog_and_close(self) -> None:
        for listener in self.sockets:
            for _ in range(MAX_BACKLOG_ACCEPTS):
                accepted_before = self.nr_conns
                self.accept(listener)  # non-blocking; returns without a connection on EAGAIN
                if self.nr_conns == accepted_before:
                    break
            # Other processes may still hold the socket; the last one to close it makes the kernel
            # refuse new connections, after its own final accept.
            listener.close()
