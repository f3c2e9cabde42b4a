"""How the worker runs exports: attempts, resending lost ones, and how long finished ones stay."""

from config.env import env_int

# An export still pending after this long lost its task (broker down when it was sent): resend it.
EXPORT_PENDING_GRACE_SECONDS = env_int("EXPORT_PENDING_GRACE_SECONDS", 120)
# An export started this many times without finishing is marked failed, and never sent again.
EXPORT_MAX_ATTEMPTS = env_int("EXPORT_MAX_ATTEMPTS", 3)
# Finished (done or failed) exports are deleted this long after they finished.
EXPORT_RETENTION_SECONDS = env_int("EXPORT_RETENTION_SECONDS", 86400)
