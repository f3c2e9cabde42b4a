"""Sign-up and login pages of the web service."""

from config.env import env_rate

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

# The page a locked-out login (web or admin) gets with its 429 (runtime.login_lockout).
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Sign-up attempts (POSTs) per client address (web.throttles). Counted in the Redis cache, so
# the limit fails open while Redis is down; the gateway's limit_req on the path still holds.
SIGNUP_THROTTLE = env_rate("SIGNUP_THROTTLE", "10/hour")
