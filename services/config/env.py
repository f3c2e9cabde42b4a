"""Read configuration from environment variables, the only source of configuration.

Every variable is listed once in the README's configuration table. A required variable that is
missing stops start-up with an error that names it, instead of failing later on first use.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_REQUIRED = object()
# The periods DRF's SimpleRateThrottle.parse_rate understands (it reads only the first letter).
_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def _raw(name: str, default: object) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is _REQUIRED:
            raise ImproperlyConfigured(f"The environment variable {name} is required but not set.")
        return None
    return value


def env_str(name: str, default: object = _REQUIRED) -> str:
    """Return the variable as a string; without a default it is required."""
    value = _raw(name, default)
    return default if value is None else value  # type: ignore[return-value]


def env_int(name: str, default: object = _REQUIRED) -> int:
    """Return the variable as an integer, or stop with a message naming it."""
    value = _raw(name, default)
    if value is None:
        return default  # type: ignore[return-value]
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None


def env_milliseconds(name: str, default: object = _REQUIRED) -> int:
    """Return a duration in milliseconds (0: no limit), or stop with a message naming it."""
    value = env_int(name, default)
    if value < 0:
        raise ImproperlyConfigured(f"{name} must be 0 (no limit) or a number of milliseconds, got {value}.")
    return value


def env_bool(name: str, default: object = _REQUIRED) -> bool:
    """Return the variable as a boolean (true/false, 1/0, yes/no, on/off)."""
    value = _raw(name, default)
    if value is None:
        return default  # type: ignore[return-value]
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}.")


def env_rate(name: str, default: object = _REQUIRED) -> str | None:
    """Return a DRF throttle rate ("600/min", "10/hour"), or None for "none": no limit.

    Checked here so a typo stops start-up naming the variable, instead of failing every request
    that the throttle sees.
    """
    value = env_str(name, default)
    if value.strip().lower() == "none":
        return None
    count, _, period = value.partition("/")
    if not (count.isascii() and count.isdigit() and period in _RATE_PERIODS):
        raise ImproperlyConfigured(f"{name} must be a rate like 600/min or 10/hour, or none; got {value!r}.")
    return value


def env_list(name: str, default: object = _REQUIRED) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    value = _raw(name, default)
    if value is None:
        return list(default)  # type: ignore[call-overload]
    return [item.strip() for item in value.split(",") if item.strip()]
