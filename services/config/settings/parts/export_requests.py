"""How many exports each user may request, in web and api alike."""

from config.env import env_int

# Export requests per user, counted in PostgreSQL by domain's export_request for web and api
# alike: at most EXPORT_REQUEST_LIMIT new exports in any EXPORT_REQUEST_WINDOW_SECONDS, then 429
# with Retry-After. Unlike the api's cache-backed throttles it holds while Redis is down, and it
# bounds the rows each user can add. Load-test stacks raise it in their own files.
EXPORT_REQUEST_LIMIT = env_int("EXPORT_REQUEST_LIMIT", 10)
EXPORT_REQUEST_WINDOW_SECONDS = env_int("EXPORT_REQUEST_WINDOW_SECONDS", 600)
