"""Settings for the web service: server-rendered pages, sign-up/login and the admin."""

from config.env import env_rate

from .base import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "web"]  # noqa: F405
ROOT_URLCONF = "web.urls"
SERVICE_NAME = "web"

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

# The page a locked-out login (web or admin) gets with its 429 (config.login_limits).
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Sign-up attempts (POSTs) per client address (web.throttles). Counted in the Redis cache, so
# the limit fails open while Redis is down; the gateway's limit_req on the path still holds.
SIGNUP_THROTTLE = env_rate("SIGNUP_THROTTLE", "10/hour")
