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

    The test settings pool connections, and a pool waits POSTGRES_POOL_WAIT_MS for one even when
    the connection is refused: half a second here, so the 2 s leave room for several attempts.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "POSTGRES_PORT": "1",
        "POSTGRES_CONNECT_TIMEOUT": "1",
        "POSTGRES_POOL_WAIT_MS": "500",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "wait_for_migrations", "--database-only", "--timeout", "2", "--interval", "0.5"],
        cwd=SERVICES,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout.count("Waiting: database not reachable (OperationalError).") >= 2
    assert "Gave up after 2s: database not reachable (OperationalError)." in result.stderr
