"""Make `polls_load` importable when pytest runs from the repository root."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "chaos: failure drills against the polls-chaos compose stack (make chaos-test)"
    )
