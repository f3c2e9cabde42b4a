"""The worker's broker consumer: reconnects at a steady pace instead of backing off to 30 s.

Celery's consumer retries a lost broker with kombu's default back-off (2, 4, 6, ... up to 30 s
between tries). After a 30 s Redis outage a worker could sit idle for another 12 s; with tries
at most BROKER_RECONNECT_MAX_SECONDS apart it is back within that. A try is one TCP connect with
a 1 s timeout (socket_connect_timeout), cheap enough to repeat for as long as the outage lasts.
"""

from functools import partial

from celery.worker.consumer import Consumer
from django.conf import settings


class SteadyReconnectConsumer(Consumer):
    def ensure_connected(self, conn):
        most = settings.BROKER_RECONNECT_MAX_SECONDS
        conn.ensure_connection = partial(
            conn.ensure_connection, interval_start=min(1.0, most), interval_step=0.5, interval_max=most
        )
        return super().ensure_connected(conn)
