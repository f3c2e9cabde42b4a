"""Load, benchmark and failure-drill tools for the polls stack (loadtest/README.md)."""

from pathlib import Path
from urllib.parse import urlsplit

# One folder per run of any tool here (git-ignored).
REPORTS = Path(__file__).resolve().parents[1] / "reports"


def is_loopback(url: str) -> bool:
    """Whether a URL's host is this machine: load goes elsewhere only when someone says so."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
