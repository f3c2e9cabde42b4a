"""The worker role's sessions get their own, longer statement timeout: an export build may read more
than a request does."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2]
SHOW = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute(\"SELECT current_setting('statement_timeout'), "
    "current_setting('idle_in_transaction_session_timeout')\")\n"
    "    print(*cursor.fetchone())\n"
)


def _worker_session_timeouts(**environ: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW],
        cwd=SERVICES,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.worker",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            **environ,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def test_worker_sessions_get_the_worker_statement_timeout():
    assert _worker_session_timeouts() == "1min 1min", "WORKER_STATEMENT_TIMEOUT_MS, then the idle limit"
    assert _worker_session_timeouts(WORKER_STATEMENT_TIMEOUT_MS="90000", POSTGRES_STATEMENT_TIMEOUT_MS="1000") == (
        "90s 1min"
    ), "the requests' limit does not apply to the worker"
