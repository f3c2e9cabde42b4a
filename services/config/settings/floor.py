"""Settings for the bench's floor (monolith.floor): Django with nothing on top. Not a deployable role.

Every app stays installed (the same process size and start-up as the api); no middleware runs, so a
request costs URL resolution, the view and the response. make bench reports each figure as a ratio
to this one.
"""

from .base import *  # noqa: F403

MIDDLEWARE = []
ROOT_URLCONF = "monolith.floor"
SERVICE_NAME = "floor"
