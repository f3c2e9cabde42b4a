"""The gunicorn worker class for web and api: gthread, with its listener closed cleanly on stop.

gunicorn's gthread worker stops polling its listener when told to stop, but closes it only after
its requests in flight finish, up to graceful_timeout later. Meanwhile the kernel keeps completing
handshakes into the listen backlog, and when the socket finally closes those connections are reset
after the gateway has already sent its request on them. A reset GET is retried; a reset POST is
not (it may have been processed), so the user sees an error. This worker takes what is already in
the backlog and closes its listener at once instead: later connections are refused, and the gateway
retries a refused connection on another replica, POST included, because nothing was sent.
"""

from gunicorn.workers.gthread import ThreadWorker

# Bounds the final accept loop; a backlog is never longer than the listen queue (gunicorn's
# `backlog`, 2048 by default).
MAX_BACKLOG_ACCEPTS = 4096


class ThreadWorkerClosingListener(ThreadWorker):
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
