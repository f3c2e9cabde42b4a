"""Every session of the app carries a statement timeout and an idle-in-transaction timeout, so a
runaway query or a transaction left open is ended by PostgreSQL instead of holding locks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

SERVICES = Path(__file__).resolve().parents[2]

# Run in a fresh process, so the connection is made from the environment as in a container.
PROBE = """
import time
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

started = time.monotonic()
try:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")
    print("statement: finished")
except OperationalError as error:
    print(f"statement: {type(error.__cause__).__name__} after {time.monotonic() - started:.1f}s")
connection.close()

try:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        time.sleep(1.5)  # idle inside the transaction, longer than the limit
        cursor.execute("SELECT 1")
    print("idle transaction: survived")
except (DatabaseError, InterfaceError) as error:
    # PostgreSQL reports it as SQLSTATE 25P03, which Django raises as an InternalError.
    print(f"idle transaction: ended ({type(error.__cause__).__name__})")
"""


@pytest.mark.django_db
def test_the_app_sessions_start_with_both_timeouts():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting FROM pg_settings "
            "WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout')"
        )
        current = {name: int(value) for name, value in cursor.fetchall()}

    assert current == {
        "statement_timeout": settings.POSTGRES_STATEMENT_TIMEOUT_MS,
        "idle_in_transaction_session_timeout": settings.POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    }
    assert 0 < settings.POSTGRES_STATEMENT_TIMEOUT_MS <= 30_000, "below gunicorn's and the gateway's 30 s"
    assert settings.POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS > 0


def test_a_long_statement_is_cancelled_and_an_idle_transaction_ended():
    """With the limits set through the environment, pg_sleep(5) is cancelled at 0.3 s and a
    session idle in its transaction for 1.5 s is ended by PostgreSQL."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=SERVICES,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "POSTGRES_STATEMENT_TIMEOUT_MS": "300",
            "POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS": "500",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(("statement:", "idle"))]
    assert lines[0].startswith("statement: QueryCanceled after 0."), result.stdout
    assert lines[1] == "idle transaction: ended (IdleInTransactionSessionTimeout)", result.stdout


@pytest.mark.parametrize("value", ["-1", "5s"])
def test_an_invalid_timeout_stops_start_up_naming_the_variable(value):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=SERVICES,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "POSTGRES_STATEMENT_TIMEOUT_MS": value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "POSTGRES_STATEMENT_TIMEOUT_MS" in result.stderr.splitlines()[-1]
