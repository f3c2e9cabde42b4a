"""Migration rules (docs/releases.md): django-migration-linter passes our migrations and fails the
ones that would break the previous release while it still runs.

The unsafe migrations are built in a throwaway app in a temporary directory, linted only (never
applied), so the real schema does not change.
"""

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db
SERVICES = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((SERVICES / "pyproject.toml").read_text())["tool"]["django_migration_linter"]
THROWAWAY_APP = "release_check"

# A table, then one change per migration, each on top of the one before.
THROWAWAY_MIGRATIONS = {
    "0001_initial": """
        migrations.CreateModel(
            name="Ticket",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("title", models.CharField(max_length=100)),
                ("note", models.CharField(max_length=100, null=True)),
            ],
        ),
    """,
    "0002_drop_column": 'migrations.RemoveField(model_name="ticket", name="note"),',
    "0003_rename_column": 'migrations.RenameField(model_name="ticket", old_name="title", new_name="name"),',
    # A Python-side default: Django adds the column with DEFAULT 0, then drops the default, so an
    # insert by the previous release (which does not know the column) fails.
    "0004_not_null_without_database_default": """
        migrations.AddField(model_name="ticket", name="priority", field=models.IntegerField(default=0)),
    """,
    "0005_change_type": """
        migrations.AlterField(model_name="ticket", name="priority", field=models.BigIntegerField(default=0)),
    """,
    "0006_index_without_concurrently": """
        migrations.AddIndex(model_name="ticket", index=models.Index(fields=["priority"], name="ticket_priority")),
    """,
    # The expand steps of docs/releases.md: what the previous release can live with.
    "0007_add_nullable_column": """
        migrations.AddField(model_name="ticket", name="summary", field=models.TextField(null=True)),
    """,
    "0008_not_null_with_database_default": """
        migrations.AddField(model_name="ticket", name="status", field=models.IntegerField(db_default=0)),
    """,
}
UNSAFE = {
    "0002_drop_column": "DROPPING columns (table: release_check_ticket, column: note)",
    "0003_rename_column": "RENAMING columns",
    "0004_not_null_without_database_default": "NOT NULL constraint on columns",
    "0005_change_type": "ALTERING columns",
    "0006_index_without_concurrently": "CREATE INDEX locks table",
}
SAFE = ["0001_initial", "0007_add_nullable_column", "0008_not_null_with_database_default"]


def _lintmigrations(
    *args: str, settings: str = "config.settings.test", pythonpath: str = ""
) -> subprocess.CompletedProcess:
    """Run `manage.py lintmigrations` as make test does (cwd services/, for pyproject.toml)."""
    return subprocess.run(
        [sys.executable, "manage.py", "lintmigrations", *args],
        cwd=SERVICES,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "POSTGRES_DB": connection.settings_dict["NAME"],
            "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")])),
            "LOG_LEVEL": "WARNING",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def _verdicts(output: str, app: str) -> dict[str, tuple[str, str]]:
    """Return {migration: (verdict, the issue lines under it)} for one app from the linter's output."""
    pattern = rf"^\({app}, (\w+)\)\.\.\. ([A-Z]+)[^\n]*\n((?:\t[^\n]*\n)*)"
    return {name: (verdict, issues) for name, verdict, issues in re.findall(pattern, output, re.M)}


@pytest.fixture(scope="module")
def throwaway_lint(tmp_path_factory):
    """Lint the throwaway app's migrations once, with the project's linter options."""
    root = tmp_path_factory.mktemp("lint")
    package = root / THROWAWAY_APP / "migrations"
    package.mkdir(parents=True)
    (root / THROWAWAY_APP / "__init__.py").touch()
    (package / "__init__.py").touch()
    previous = None
    for name, operations in THROWAWAY_MIGRATIONS.items():
        dependencies = f'[("{THROWAWAY_APP}", "{previous}")]' if previous else "[]"
        (package / f"{name}.py").write_text(
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            f"    dependencies = {dependencies}\n"
            "    operations = [\n"
            f"{textwrap.indent(textwrap.dedent(operations).strip(), ' ' * 8)}\n"
            "    ]\n"
        )
        previous = name
    (root / "release_check_settings.py").write_text(
        "from config.settings.test import *  # noqa: F403\n\n"
        f'INSTALLED_APPS = [*INSTALLED_APPS, "{THROWAWAY_APP}"]  # noqa: F405\n'
    )
    return _lintmigrations(
        THROWAWAY_APP,
        "--include-apps",
        THROWAWAY_APP,
        settings="release_check_settings",
        pythonpath=str(root),
    )


def test_our_migrations_pass_the_linter():
    """Every migration of our apps is linted and passes, but for the justified exceptions."""
    result = _lintmigrations()
    assert result.returncode == 0, result.stdout + result.stderr
    linted = {}
    for app in CONFIG["include_apps"]:
        linted |= _verdicts(result.stdout, app)
    ignored = {name for name, (verdict, _) in linted.items() if verdict == "IGNORE"}
    assert ignored == set(CONFIG["ignore_name"])
    assert {verdict for verdict, _ in linted.values()} == {"OK", "IGNORE"}
    assert len(linted) >= 4


def test_the_linter_covers_every_app_of_ours_with_migrations():
    """pyproject.toml's include_apps names each app under services/ that has migrations, so a new
    app's migrations cannot slip past the linter."""
    ours = {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(SERVICES) and any(Path(config.path, "migrations").glob("0*.py"))
    }
    assert sorted(CONFIG["include_apps"]) == sorted(ours)


def test_the_linter_fails_on_unsafe_migrations(throwaway_lint):
    assert throwaway_lint.returncode == 1, throwaway_lint.stdout + throwaway_lint.stderr
    assert f"Erroneous migrations: {len(UNSAFE)}/{len(THROWAWAY_MIGRATIONS)}" in throwaway_lint.stdout


@pytest.mark.parametrize("migration", UNSAFE)
def test_each_unsafe_migration_is_an_error_naming_its_problem(throwaway_lint, migration):
    verdict, issues = _verdicts(throwaway_lint.stdout, THROWAWAY_APP)[migration]
    assert verdict == "ERR", throwaway_lint.stdout
    assert UNSAFE[migration] in issues


@pytest.mark.parametrize("migration", SAFE)
def test_an_expand_step_passes(throwaway_lint, migration):
    """A new table, a nullable column and a NOT NULL column with a database default are safe."""
    verdict, issues = _verdicts(throwaway_lint.stdout, THROWAWAY_APP)[migration]
    assert (verdict, issues) == ("OK", ""), throwaway_lint.stdout
