"""The release gate of docs/releases.md ("Kubernetes"), against real PostgreSQL: pods of release N+1
wait for N+1's migrations (init container `wait_for_migrations`, readiness `/readyz`), while pods
of release N keep serving once those migrations are applied.

Release N is this code, run in the test process. Release N+1 is this code plus one expand step (a
nullable column on domain_poll, in a throwaway app `release_next` whose migration depends on
domain's latest), run as the pods run it: `manage.py` in a subprocess, with settings that add the
app. Its migration is applied by N+1's own `manage.py migrate` (the migrate Job's command) and
taken back after each test.
"""

import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from runtime import health

pytestmark = pytest.mark.django_db(transaction=True)
SERVICES = Path(__file__).resolve().parents[1]
NEXT_APP = "release_next"
NEXT_MIGRATION = "0001_expand_poll_note"
NEXT_COLUMN = "release_next_note"
# Every migration a role's code knows, read from its settings' apps without touching the database.
KNOWN_MIGRATIONS = (
    "import json, django; django.setup(); from django.db.migrations.loader import MigrationLoader; "
    "print(json.dumps(sorted(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)))"
)
READINESS = "import json, django; django.setup(); from runtime.health import readiness; print(json.dumps(readiness()))"


@pytest.fixture(scope="module")
def next_release(tmp_path_factory) -> Path:
    """Return a PYTHONPATH folder holding release N+1's extra app, migration and settings."""
    root = tmp_path_factory.mktemp("next_release")
    migrations = root / NEXT_APP / "migrations"
    migrations.mkdir(parents=True)
    (root / NEXT_APP / "__init__.py").touch()
    (migrations / "__init__.py").touch()
    # An expand step (docs/releases.md): a new nullable column, which N never names.
    (migrations / f"{NEXT_MIGRATION}.py").write_text(
        textwrap.dedent(f"""\
            from django.db import migrations


            class Migration(migrations.Migration):
                dependencies = [("domain", "__latest__")]
                operations = [
                    migrations.RunSQL(
                        "ALTER TABLE domain_poll ADD COLUMN {NEXT_COLUMN} text NULL",
                        reverse_sql="ALTER TABLE domain_poll DROP COLUMN {NEXT_COLUMN}",
                    ),
                ]
            """)
    )
    (root / f"{NEXT_APP}_settings.py").write_text(
        "from config.settings.test import *  # noqa: F403\n\n"
        f'INSTALLED_APPS = [*INSTALLED_APPS, "{NEXT_APP}"]  # noqa: F405\n'
    )
    return root


def _environ(next_release: Path | None) -> dict:
    """The environment of a pod of N (next_release None) or N+1, on this test's database."""
    # LOG_LEVEL: the apps' start-up log lines (django-axes logs at INFO) would come before the output
    # the tests read.
    env = {
        **os.environ,
        "POSTGRES_DB": connection.settings_dict["NAME"],
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    env["DJANGO_SETTINGS_MODULE"] = f"{NEXT_APP}_settings" if next_release else "config.settings.test"
    if next_release:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(next_release), os.environ.get("PYTHONPATH")]))
    return env


def _run(next_release: Path | None, *args: str) -> subprocess.CompletedProcess:
    """Run `python ARGS` in services/ as a pod of N or N+1 would."""
    return subprocess.run(
        [sys.executable, *args], cwd=SERVICES, env=_environ(next_release), capture_output=True, text=True, timeout=120
    )


def _readiness(next_release: Path | None) -> tuple[int, dict]:
    """Return what a fresh pod's /readyz answers (status and body), asked in its own process."""
    result = _run(next_release, "-c", READINESS)
    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


def _next_migration_applied() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM django_migrations WHERE app = %s AND name = %s", [NEXT_APP, NEXT_MIGRATION])
        return cursor.fetchone() is not None


@pytest.fixture
def rollback_next_release(next_release):
    """Take N+1's migration back after the test, so the schema is release N's again."""
    yield
    if _next_migration_applied():
        result = _run(next_release, "manage.py", "migrate", "--noinput", NEXT_APP, "zero")
        assert result.returncode == 0, result.stdout + result.stderr
    assert not _next_migration_applied()


@pytest.fixture
def migrated_to_next(next_release, rollback_next_release):
    """N+1's migrate Job has run: the database is one expand step ahead of release N."""
    result = _run(next_release, "manage.py", "migrate", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Applying {NEXT_APP}.{NEXT_MIGRATION}... OK" in result.stdout
    return result


def test_a_new_release_waits_for_its_pending_migration_then_gives_up_naming_it(next_release):
    """Given N+1's migration not applied yet, N+1's init container keeps waiting and saying why,
    and on its timeout fails (the kubelet then runs it again) with the count of pending migrations."""
    result = _run(next_release, "manage.py", "wait_for_migrations", "--timeout", "2", "--interval", "0.5")

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("Waiting: 1 migrations pending.") >= 2, result.stdout
    assert "Gave up after 2s: 1 migrations pending." in result.stderr
    assert "Traceback" not in result.stderr


def test_a_new_release_is_not_ready_while_its_migration_is_pending(next_release):
    """Given N+1's migration not applied yet, a pod of N+1 answers /readyz with 503, naming it, so
    it gets no traffic (and the rollout, with maxUnavailable 0, keeps every pod of N)."""
    status, body = _readiness(next_release)

    assert status == 503
    assert body["checks"] == {"database": "ok", "redis": "ok", "migrations": "pending: 1"}


def test_a_new_release_starts_and_is_ready_once_its_migrate_job_has_run(next_release, rollback_next_release):
    """Given N+1's init container waiting, when N+1's migrate runs, then the wait ends within its
    poll interval with success, and a pod of N+1 is ready."""
    waiting = subprocess.Popen(
        [sys.executable, "manage.py", "wait_for_migrations", "--timeout", "60", "--interval", "0.5"],
        cwd=SERVICES,
        env=_environ(next_release),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = waiting.stdout.readline()
        migrate = _run(next_release, "manage.py", "migrate", "--noinput")
        migrated = time.monotonic()
        stdout, stderr = waiting.communicate(timeout=30)
        waited_after = time.monotonic() - migrated
    finally:
        waiting.kill()
        waiting.communicate()

    assert first == "Waiting: 1 migrations pending.\n", first + stderr
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert f"Applying {NEXT_APP}.{NEXT_MIGRATION}... OK" in migrate.stdout
    assert waiting.returncode == 0, stdout + stderr
    assert stdout.splitlines()[-1] == "No migrations pending."
    assert waited_after < 5, f"the wait went on {waited_after:.1f}s after migrate had finished"
    all_ok = dict.fromkeys(("database", "redis", "migrations"), "ok")
    assert _readiness(next_release) == (200, {"status": "ok", "checks": all_ok})


def test_the_old_release_stays_ready_and_serves_with_the_database_ahead(migrated_to_next, user_api, monkeypatch):
    """Given N+1's migration applied while pods of N still run, N's readiness stays 200, N's init
    container passes (a pod of N restarted mid-rollout starts), and N creates and reads polls, its
    inserts leaving the column it does not know NULL."""
    monkeypatch.setattr(health, "_migrations_done", False)  # check afresh, as a new pod of N would
    waited = StringIO()

    readyz = user_api.get("/readyz")
    call_command("wait_for_migrations", "--timeout", "5", stdout=waited)
    created = user_api.post(
        "/api/polls/",
        {"question": "Ahead?", "choices": ["Yes", "No"], "closes_at": (timezone.now() + timedelta(days=1)).isoformat()},
        format="json",
    )
    read = user_api.get(f"/api/polls/{created.json()['id']}/")

    assert readyz.status_code == 200, readyz.content
    assert readyz.json()["checks"]["migrations"] == "ok"
    assert waited.getvalue().strip() == "No migrations pending."
    assert created.status_code == 201, created.content
    assert read.status_code == 200 and read.json()["question"] == "Ahead?"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {NEXT_COLUMN} FROM domain_poll WHERE id = %s", [created.json()["id"]])
        assert cursor.fetchone() == (None,)


def test_the_old_release_migrate_finds_nothing_to_do_after_a_rollback(migrated_to_next):
    """Given the database ahead (N+1's expand step applied), when N is applied again (a rollback:
    its Job runs anew once the finished one is gone), then N's migrate succeeds, applies and
    reverses nothing, and the expand step stays for N+1's next try."""
    result = _run(None, "manage.py", "migrate", "--noinput")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No migrations to apply." in result.stdout
    assert _next_migration_applied()


def test_every_gated_role_waits_for_exactly_the_migrations_the_migrate_job_applies():
    """web, api and worker pods wait (init container, /readyz) in their own image, with their own
    settings; the migrate Job runs the worker's. Their apps must know the same migrations, or a
    role would wait for one the Job never applies (k8s/base/migrate.yaml, web.yaml)."""
    known, key = {}, secrets.token_urlsafe(50)
    for role in ("web", "api", "worker"):
        # A serving role refuses the test settings' placeholder key (runtime.secret_key).
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": f"config.settings.{role}", "DJANGO_SECRET_KEY": key}
        result = subprocess.run(
            [sys.executable, "-c", KNOWN_MIGRATIONS], cwd=SERVICES, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        known[role] = json.loads(result.stdout.strip().splitlines()[-1])

    assert known["web"] == known["api"] == known["worker"]
    assert ["domain", "0001_initial"] in known["worker"]
