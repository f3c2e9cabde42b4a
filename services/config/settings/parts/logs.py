"""JSON log lines on stdout, each with the request id (runtime.json_logs)."""

from config.env import env_str

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "runtime.json_logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "runtime.json_logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs every 4xx as a warning; the gateway access log already records them.
        "django.request": {"level": "ERROR"},
    },
}
