"""The spread of a figure measured several times: median, min, max and relative spread."""

import statistics
from collections.abc import Sequence


def spread(values: Sequence[float]) -> dict[str, float | int]:
    """Return n, median, min, max and (max - min) / median of the values (empty: n 0 only)."""
    values = [float(v) for v in values]
    if not values:
        return {"n": 0}
    median = statistics.median(values)
    return {
        "n": len(values),
        "median": round(median, 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "spread_pct": round(100 * (max(values) - min(values)) / median, 1) if median else 0.0,
    }


def ratio(numerator: dict, denominator: dict) -> float | None:
    """Return the ratio of two spreads' medians, or None when either is missing or zero."""
    a, b = numerator.get("median"), denominator.get("median")
    if not a or not b:
        return None
    return round(a / b, 3)
