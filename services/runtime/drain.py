"""The marker that tells every gunicorn worker of a replica that it is draining.

gunicorn's master creates it when SIGTERM arrives (see config.gunicorn); /readyz answers 503 while
it exists, so load balancers stop sending new requests before the listener closes.
"""

from pathlib import Path

DRAIN_MARKER = Path("/tmp/gunicorn-draining")


def is_draining() -> bool:
    """Return True once this replica has been told to stop."""
    return DRAIN_MARKER.exists()
