"""Settings every role has, one topic module each. Role modules import this and add their parts."""

from .project import *  # noqa: F403
from .static_files import *  # noqa: F403
from .security import *  # noqa: F403
from .database import *  # noqa: F403
from .caching import *  # noqa: F403
from .login_limits import *  # noqa: F403
from .celery_producer import *  # noqa: F403
from .export_requests import *  # noqa: F403
from .home_page import *  # noqa: F403
from .logs import *  # noqa: F403
