"""Settings every role has, one topic module each. Role modules import this and add their parts."""

from .parts.caching import *  # noqa: F403
from .parts.celery_producer import *  # noqa: F403
from .parts.database import *  # noqa: F403
from .parts.export_requests import *  # noqa: F403
from .parts.home_page import *  # noqa: F403
from .parts.login_limits import *  # noqa: F403
from .parts.logs import *  # noqa: F403
from .parts.project import *  # noqa: F403
from .parts.security import *  # noqa: F403
from .parts.static_files import *  # noqa: F403
