"""Login limits (django-axes): failed logins counted per client address and per username."""

from datetime import timedelta

from config.env import env_int

# Failed logins through authenticate() (web login, admin login, API token) are counted per client
# address and, separately, per username; either reaching LOGIN_FAILURE_LIMIT locks logins out
# (429 + Retry-After, runtime.login_lockout) until LOGIN_LOCKOUT_SECONDS have passed since the
# latest attempt, the right password included.
# The counts live in PostgreSQL (axes' database handler), so the limits hold while Redis is down:
# they must not fail open the way the cache-backed API throttles do.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_LOCKOUT_SECONDS", 900))
# Either parameter alone trips the lock: many passwords for one user from many addresses, or many
# users from one address.
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "runtime.client_address.client_address"
AXES_USERNAME_CALLABLE = "runtime.login_lockout.username_of"
AXES_LOCKOUT_CALLABLE = "runtime.login_lockout.lockout_response"
AXES_LOCKOUT_TEMPLATE = None  # web sets its page (web_accounts); the api answers JSON
# A success must not wipe the address's failures, or an attacker with one account of their own
# could log into it between guesses at others.
AXES_RESET_ON_SUCCESS = False
# An attempt while locked out restarts the wait, so Retry-After (the full lockout) is exact.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# Successful logins are not written to a table that nothing reads or trims; the JSON logs have them.
AXES_DISABLE_ACCESS_LOG = True
