"""Backups and restores of the stack's PostgreSQL (tools/backup, tools/restore: make backup/restore).

Data is made through the gateway as a user would, the scripts are the ones the Makefile runs,
and what comes back is compared row for row (psql) and response for response (the API).
"""

import os
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import BASE_URL, REPO, compose, replicas
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

WRITERS = ("web", "api", "worker", "beat")
# Every table the app's users fill, in the order a snapshot lists them.
TABLES = ("auth_user", "authtoken_token", "domain_poll", "domain_choice", "domain_vote", "domain_resultexport")
PASSWORD = "backup-e2e-Pa55word"


def _tool(name: str, *args: str, timeout: float, **env: str) -> subprocess.CompletedProcess:
    """Run tools/<name> as `make backup`/`make restore` do, on the stack the e2e tests use."""
    environment = {**os.environ, **env}
    environment.setdefault("COMPOSE_FILE", "docker-compose.yml:docker-compose.test.yml")
    environment.setdefault("COMPOSE_PROJECT_NAME", "polls-test")
    if "CONFIRM" not in env:
        environment.pop("CONFIRM", None)  # a CONFIRM=yes left in the caller's shell must not confirm
    return subprocess.run(
        [str(REPO / "tools" / name), *args],
        cwd=REPO,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _psql(sql: str) -> str:
    """Run SQL in the stack's database as its role and return the unaligned rows."""
    script = 'exec psql -X -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$0"'
    return compose("exec", "-T", "postgres", "sh", "-c", script, sql).strip()


def _table_snapshot() -> dict[str, str]:
    """Return, per table, its row count and a digest of every row's content."""
    return {
        table: _psql(
            f"select count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) from {table} t"
        )
        for table in TABLES
    }


def _auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def _sign_up(gateway) -> tuple[str, str]:
    """Sign up on the web pages, get an API token for the new user; return (username, token)."""
    username = f"backup-{uuid.uuid4().hex[:10]}"
    form = gateway.get(f"{BASE_URL}/accounts/signup/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    signed_up = gateway.post(
        f"{BASE_URL}/accounts/signup/",
        data={"csrfmiddlewaretoken": csrf, "username": username, "password1": PASSWORD, "password2": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_up.status_code == 303, signed_up.text[:500]
    gateway.cookies.clear()  # the session's cookies belong to this user: leave later requests anonymous
    token = gateway.post(f"{BASE_URL}/api/auth/token/", data={"username": username, "password": PASSWORD}, timeout=10)
    assert token.status_code == 200, token.text
    return username, token.json()["token"]


def _make_data(gateway) -> dict:
    """Create a user, two polls with a vote each and a finished export, all through the gateway."""
    username, token = _sign_up(gateway)
    polls = []
    for question, choices in (("Backups: daily or hourly?", ["daily", "hourly"]), ("Restore drills?", ["yes", "no"])):
        body = {
            "question": question,
            "choices": choices,
            "closes_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        }
        created = gateway.post(f"{BASE_URL}/api/polls/", json=body, headers=_auth(token), timeout=10)
        assert created.status_code == 201, created.text
        poll = created.json()
        vote = gateway.post(
            f"{BASE_URL}/api/polls/{poll['id']}/vote/",
            json={"choice_id": poll["choices"][1]["id"]},
            headers=_auth(token),
            timeout=10,
        )
        assert vote.status_code == 201, vote.text
        polls.append(poll["id"])
    export = gateway.post(f"{BASE_URL}/api/exports/", json={"poll_id": polls[0]}, headers=_auth(token), timeout=10)
    assert export.status_code == 202, export.text

    def done():
        body = gateway.get(export.json()["status_url"], headers=_auth(token), timeout=5).json()
        return body if body["status"] == "done" else None

    wait_for(done, 60, "the export to finish")
    return {"username": username, "token": token, "polls": polls, "export": export.json()["id"]}


def _api_view(gateway, data: dict) -> dict:
    """Return what the API shows of the data: polls, results, the export and its CSV."""
    headers = _auth(data["token"])
    view = {}
    for poll_id in data["polls"]:
        for path in (f"polls/{poll_id}/", f"polls/{poll_id}/results/"):
            response = gateway.get(f"{BASE_URL}/api/{path}", headers=headers, timeout=10)
            assert response.status_code == 200, f"{path}: {response.status_code}"
            view[path] = response.json()
    export = gateway.get(f"{BASE_URL}/api/exports/{data['export']}/", headers=headers, timeout=10)
    assert export.status_code == 200, export.text
    view["export"] = {key: value for key, value in export.json().items() if key != "download_url"}
    csv = gateway.get(f"{BASE_URL}/api/exports/{data['export']}/download/", headers=headers, timeout=10)
    assert csv.status_code == 200, csv.text
    view["csv"] = csv.text
    return view


def _writers() -> dict[str, set[str]]:
    return {service: set(replicas(service)) for service in WRITERS}


def test_backup_fails_clearly_when_the_stack_is_not_running(tmp_path):
    """No running postgres in the compose project: a non-zero exit, a message saying so, no file."""
    result = _tool(
        "backup", str(tmp_path / "polls.dump"), timeout=60, COMPOSE_PROJECT_NAME=f"polls-absent-{uuid.uuid4().hex[:6]}"
    )

    assert result.returncode != 0
    assert "is not running" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_restore_refuses_a_missing_file_before_stopping_anything(tmp_path):
    """A FILE that is not there, or is not a dump, is an error before any service is stopped."""
    before = _writers()
    not_a_dump = tmp_path / "notes.dump"
    not_a_dump.write_text("not a dump\n")

    missing = _tool("restore", str(tmp_path / "missing.dump"), timeout=60, CONFIRM="yes")
    wrong = _tool("restore", str(not_a_dump), timeout=60, CONFIRM="yes")

    assert missing.returncode != 0 and "does not exist" in missing.stderr
    assert wrong.returncode != 0 and "not a pg_dump custom-format archive" in wrong.stderr
    assert _writers() == before


def test_restore_without_a_terminal_or_confirm_refuses(tmp_path):
    """Neither a terminal to type the database name on nor CONFIRM=yes: refused, nothing changed."""
    dump = tmp_path / "polls.dump"
    backup = _tool("backup", str(dump), timeout=120)
    assert backup.returncode == 0, backup.stderr
    before = _writers()

    result = _tool("restore", str(dump), timeout=60)

    assert result.returncode != 0
    assert "CONFIRM=yes" in result.stderr
    assert _writers() == before


def test_a_backup_restores_every_row_after_the_data_is_destroyed(gateway, tmp_path: Path):
    """Given data made through the gateway, a backup, then the schema dropped: the restore brings
    back every row (counts and contents), the API shows the same, and new writes work."""
    data = _make_data(gateway)
    tables_before = _table_snapshot()
    api_before = _api_view(gateway, data)
    assert _psql(f"select count(*) from auth_user where username = '{data['username']}'") == "1"

    dump = tmp_path / "backups" / "polls.dump"
    # Progress every 0.2 s rather than 2; this small dump may still end before the first tick, so
    # progress lines are checked for their form only when there are any.
    backup = _tool("backup", str(dump), timeout=120, BACKUP_PROGRESS_SECONDS="0.2")
    assert backup.returncode == 0, backup.stderr
    progress = [line for line in backup.stdout.splitlines() if line.startswith("  ")]
    assert all(re.fullmatch(r"  \S+ written, \d+ s", line) for line in progress), backup.stdout
    assert re.search(rf"Backup complete: {re.escape(str(dump))}, .*\((\d+) bytes\)", backup.stdout)
    assert dump.stat().st_size > 0 and dump.read_bytes()[:5] == b"PGDMP"
    assert sorted(p.name for p in dump.parent.iterdir()) == ["polls.dump"], "no partial file is left"
    assert oct(dump.stat().st_mode & 0o777) == "0o600"

    # When the data is destroyed: every table, index and sequence of the app goes.
    _psql(
        "drop schema public cascade; create schema public authorization pg_database_owner; "
        "grant usage on schema public to public"
    )
    assert _psql("select count(*) from pg_tables where schemaname = 'public'") == "0"

    restore = _tool("restore", str(dump), timeout=300, CONFIRM="yes")
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "Restore complete" in restore.stdout
    assert "Stopping web api worker beat" in restore.stdout

    assert _table_snapshot() == tables_before
    assert all(replicas(service) for service in WRITERS), "every writer is running again"
    wait_for(
        lambda: gateway.get(f"{BASE_URL}/api/polls/{data['polls'][0]}/", timeout=5).status_code == 200,
        30,
        "the api to answer through the gateway",
    )
    assert _api_view(gateway, data) == api_before
    # Sequences came back too: a new poll gets a fresh id rather than a duplicate key.
    body = {
        "question": "After the restore?",
        "choices": ["a", "b"],
        "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    created = gateway.post(f"{BASE_URL}/api/polls/", json=body, headers=_auth(data["token"]), timeout=10)
    assert created.status_code == 201, created.text
    assert created.json()["id"] > max(data["polls"])
