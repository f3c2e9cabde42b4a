"""The worker service: Celery tasks (thin shells over domain services), liveness heartbeat, beat."""
