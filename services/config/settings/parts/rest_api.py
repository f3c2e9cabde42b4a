"""Django REST Framework and the OpenAPI schema, for the api service."""

from config.env import env_int, env_rate
from runtime import url_numbers

REST_FRAMEWORK = {
    # Tokens only: a client sends what it authenticates with, so no ambient cookie can act for a
    # user (nothing for CSRF to guard), and the api runs without session middleware.
    # The token and its user are read through the cache (domain.token_cache).
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.CachedTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A counter per client and scope, one Redis round trip per counted request (runtime.drf_throttles;
    # rates of 200 or more per window count a sample of requests): the "user" rate for a signed-in
    # user, "anon" per client address, plus the view's throttle_scope.
    "DEFAULT_THROTTLE_CLASSES": [
        "runtime.drf_throttles.ClientRateThrottle",
        "runtime.drf_throttles.ScopedRateThrottle",
    ],
    # Counters live in the shared Redis cache, so the limit holds across all api replicas; while
    # Redis is down they fail open by design (the login lockouts, in PostgreSQL, do not). A rate
    # of "none" turns one off (when something in front already limits; the bench measures the
    # throttles' cost that way).
    "DEFAULT_THROTTLE_RATES": {
        # POST /api/auth/token/ per client address, right or wrong password (api.views.auth).
        "login": env_rate("API_THROTTLE_LOGIN", "10/min"),
        "anon": env_rate("API_THROTTLE_ANON", "600/min"),
        "user": env_rate("API_THROTTLE_USER", "1200/min"),
        "vote": env_rate("API_THROTTLE_VOTE", "120/min"),
        "export": env_rate("API_THROTTLE_EXPORT", "30/min"),
    },
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}

# Poll list pages stay cached until a poll or a vote changes, or this many seconds pass (which
# bounds how late a poll whose closing time passed shows as open).
API_POLL_LIST_CACHE_SECONDS = env_int("API_POLL_LIST_CACHE_SECONDS", 10)

SPECTACULAR_SETTINGS = {
    "TITLE": "Polls API",
    "DESCRIPTION": "Polls, votes, results and CSV exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from drf-spectacular-sidecar through the static service, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Ids in paths (`<id:...>`, runtime.url_numbers): integers a bigint primary key can hold.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": url_numbers.BIGINT_MAX}
    },
}
