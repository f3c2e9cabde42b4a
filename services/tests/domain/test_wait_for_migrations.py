"""wait_for_migrations: what init containers and the migrate Job wait with before they start."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

SERVICES = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("flags", "said"), [((), "No migrations pending."), (("--database-only",), "The database answers.")]
)
def test_returns_at_once_when_the_database_is_ready(flags, said):
    out = StringIO()
    call_command("wait_for_migrations", *flags, "--timeout", "5", stdout=out)
    assert out.getvalue().strip() == said


def test_database_only_keeps_waiting_for_an_unreachable_database_then_names_it():
    """The migrate Job's init container: no database yet means wait (and say so), not fail at once.

    Each attempt takes POSTGRES_POOL_WAIT_MS (1 s: the test settings pool connections, and a pool
    waits that long for one even when the connection is refused), so 3 s leave room for two.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "POSTGRES_PORT": "1",
        "POSTGRES_CONNECT_TIMEOUT": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "wait_for_migrations", "--database-only", "--timeout", "3", "--interval", "0.5"],
        cwd=SERVICES,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout.count("Waiting: database not reachable (OperationalError).") >= 2
    assert "Gave up after 3s: database not reachable (OperationalError)." in result.stderr
