"""Every periodic schedule in one place; beat (exactly one replica) sends them."""

from config.env import env_int

CELERY_BEAT_SCHEDULE = {
    "close-expired-polls": {
        "task": "polls.close_expired",
        "schedule": env_int("CLOSE_EXPIRED_POLLS_EVERY", 60),
        # A tick that no worker picked up in time is dropped; the next one does the same work.
        "options": {"expires": 50},
    },
    "requeue-stale-exports": {
        "task": "exports.requeue_stale",
        "schedule": 60,
        "options": {"expires": 50},
    },
    "delete-expired-exports": {
        "task": "exports.delete_expired",
        "schedule": 300,
        "options": {"expires": 250},
    },
}
# Beat wakes at least this often, which also keeps its heartbeat file fresh.
CELERY_BEAT_MAX_LOOP_INTERVAL = 5
