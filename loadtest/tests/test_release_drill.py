"""The release drill (issue 14): its releases still build from services/, lint as they should, and roll.

The first tests need no stack: the patches of loadtest/release/ apply to the current services/ (a
patch that no longer applies is a failure naming the step), and MIGRATE_LOCK_TIMEOUT_MS is read as
the settings define it. The linter tests need PostgreSQL on loopback (the test stack of `make test`,
which runs them in loadtest-test). The drill itself (marker `chaos`) runs in `make release-test`
on a stack of its own (polls-release), because it changes the schema.
"""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from polls_loadtest import REPORTS, read_env
from polls_loadtest.drills import release, report, rollout
from polls_loadtest.drills.drills import Context
from polls_loadtest.drills.figures import compute
from polls_loadtest.load.recorder import Event
from polls_loadtest.stack import Stack
from polls_loadtest.stack.compose import REPO, override_file

RELEASES = (release.EXPAND, release.CONTRACT, release.UNSAFE)


@pytest.mark.parametrize("step", RELEASES, ids=lambda r: r.name)
def test_every_release_applies_to_the_current_services_tree(step, tmp_path):
    services = rollout.source_tree(step.patches, tmp_path, step=step.title)
    migrations = sorted(p.name for p in (services / "domain" / "migrations").glob("0*.py"))
    assert "0005_resultexport_row_count.py" in migrations
    assert ("0006_export_done_has_row_count.py" in migrations) == (step is release.CONTRACT)


def test_a_patch_that_no_longer_applies_stops_the_build_naming_the_step(tmp_path):
    moved = tmp_path / "services"
    (moved / "domain").mkdir(parents=True)
    (moved / "domain" / "models.py").write_text('"""The tree moved under the patch."""\n')
    with pytest.raises(rollout.ReleaseError, match=r"release N\+1 \(expand\): loadtest/release/expand.patch no longer"):
        rollout.source_tree(release.EXPAND.patches, tmp_path / "copy", step="release N+1 (expand)", services=moved)


def test_the_lock_bound_is_the_settings_lock_timeout():
    text = (REPO / "services" / "config" / "settings" / "parts" / "database.py").read_text()
    default_ms = int(re.search(r'"MIGRATE_LOCK_TIMEOUT_MS", (\d+)\)', text).group(1))
    overridden = re.search(r"^MIGRATE_LOCK_TIMEOUT_MS=(\d+)$", (REPO / "config.env").read_text(), re.M)
    assert release.lock_timeout_s() == int(overridden.group(1) if overridden else default_ms) / 1000


def _config(stack: Stack, *extra_files: str) -> dict:
    """The release stack's services as compose merges its files (and `extra_files`)."""
    return json.loads(stack.compose("config", "--format", "json", extra_files=extra_files))["services"]


def test_a_release_changes_only_the_images_and_beats_extra_environment():
    """Each replica of a release keeps its service's own definition (environment, command, alias,
    health check, hardening, stop grace period): compose merges the release's override into the
    stack's files and only the image differs, and beat's BACKFILL_ROW_COUNT_EVERY in N+1."""
    stack = Stack.named("release")
    own = _config(stack)
    with override_file(rollout.override("release-n1", beat_env={"BACKFILL_ROW_COUNT_EVERY": "5"})) as release_file:
        released = _config(stack, release_file)
    changed = {name for name in own if own[name] != released[name]}
    assert changed == {*rollout.ROLLED, "beat", "migrate"}
    for name in changed:
        assert released[name]["image"] == rollout.image(name, "release-n1")
        extra = {"BACKFILL_ROW_COUNT_EVERY": "5"} if name == "beat" else {}
        assert released[name]["environment"] == {**own[name]["environment"], **extra}
        unchanged = {key: value for key, value in released[name].items() if key not in ("image", "environment")}
        assert unchanged == {key: value for key, value in own[name].items() if key not in ("image", "environment")}
    assert released["worker"]["read_only"] and released["web"]["healthcheck"] == own["web"]["healthcheck"]


def _judged(*, failed: int = 0, slowest: float = 0.5, missing: int = 0, attempts: int = 1):
    tags = {"n1": "release-n1", "n2": "release-n2"}
    facts = {
        "tags": tags,
        "duration": 240.0,
        "exports": {1: ("done", attempts), 2: ("done", 1)},
        "missing_after_backfill": 0,
        "missing_at_end": missing,
        "images_at_end": {s: [rollout.image(s, tags["n2"])] for s in ("web", "api", "worker", "beat")},
        "new_export": {"id": 3, "row_count": 4},
        "released_within_load": True,
    }
    events = [Event(1.0, 1.0, 1.0 + slowest, "api: list", 200, True, "")]
    events += [Event(2.0, 2.0, 2.1, "api: export start", 500, False, "500") for _ in range(failed)]
    figures = compute(events, start=1.0, end=3.0, run_end=3.0)
    checks = release._judge_safe(Context(site=None, run=None, deadline=0.0, facts=facts), figures, events)
    return {c.name.split(" (")[0]: c.passed for c in checks}


def test_the_release_verdict_fails_on_one_failed_request_a_slow_one_a_duplicate_or_a_missing_backfill():
    assert all(_judged().values()), _judged()
    assert not _judged(failed=1)["zero failed requests"]
    assert not _judged(slowest=release.lock_timeout_s() + 1.5)["no request slower than the lock bound"]
    assert not _judged(attempts=2)["duplicate runs <= 0"]
    assert not _judged(missing=1)["backfill complete: every done export has row_count"]


# ---- the migration linter on each release (PostgreSQL of the test stack) -------------------------

POSTGRES = ("127.0.0.1", int(os.environ.get("POSTGRES_PORT", "55432")))


@pytest.fixture(scope="module")
def postgres():
    try:
        socket.create_connection(POSTGRES, timeout=2).close()
    except OSError:
        pytest.skip(f"no PostgreSQL on {POSTGRES[0]}:{POSTGRES[1]}: the test stack of `make test` publishes it")


def lint(services: Path) -> subprocess.CompletedProcess[str]:
    settings = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_LEVEL": "WARNING"}
    env = {**os.environ, **read_env(REPO / "secrets.env"), **settings}
    return subprocess.run(
        [sys.executable, "manage.py", "lintmigrations"],
        cwd=services,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("step", [release.EXPAND, release.CONTRACT], ids=lambda r: r.name)
def test_the_linter_passes_the_safe_releases(step, tmp_path, postgres):
    done = lint(rollout.source_tree(step.patches, tmp_path, step=step.title))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_the_linter_refuses_the_unsafe_release(tmp_path, postgres):
    done = lint(rollout.source_tree(release.UNSAFE.patches, tmp_path, step=release.UNSAFE.title))
    assert done.returncode != 0
    assert re.search(r"0005_resultexport_row_count.*\n.*NOT NULL", done.stdout, re.I), done.stdout[-3000:]


# ---- the drills (marker chaos) --------------------------------------------------------------------


@pytest.mark.chaos
def test_release_drill(release_site):
    """N -> N+1 (expand) -> N+2 (contract) under load: 0 failed requests, no export task lost or run
    twice, nothing slower than the lock bound, the backfill complete (docs/releases.md)."""
    result = release.run_release(release_site)
    report.write([result], REPORTS / "release-test" / result.name, started_at="pytest")
    failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
    assert result.passed, f"{result.error or ''}{'; '.join(failed)}"
