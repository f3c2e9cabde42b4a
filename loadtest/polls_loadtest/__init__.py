"""Load, benchmark and failure-drill tools for the polls stack (loadtest/README.md)."""

from pathlib import Path

# One folder per run of any tool here (git-ignored).
REPORTS = Path(__file__).resolve().parents[1] / "reports"
