"""Load, benchmark and failure-drill tools for the polls stack (loadtest/README.md)."""

from pathlib import Path
from urllib.parse import urlsplit

# One folder per run of any tool here (git-ignored).
REPORTS = Path(__file__).resolve().parents[1] / "reports"


def is_loopback(url: str) -> bool:
    """Whether a URL's host is this machine: load goes elsewhere only when someone says so."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def read_env(path: Path) -> dict[str, str]:
    """Return the KEY=value lines of an env file (config.env, secrets.env), comments left out."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
