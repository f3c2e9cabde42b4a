"""JSON log lines on stdout, each carrying the current request id."""

import logging

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from runtime.request_id import current_request_id


class RequestIdFilter(logging.Filter):
    """Attach the current request id (or None) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line with time, level, logger, message and request id."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)
