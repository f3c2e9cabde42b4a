"""Configuration: production defaults pass Django's deploy checks; missing settings stop start-up."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[1]
REPO = SERVICES.parent

# Only the required variables, as a production deployment sets them; everything else defaults.
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "polls.example.com",
    "POSTGRES_DB": "polls",
    "POSTGRES_USER": "polls",
    "POSTGRES_PASSWORD": "not-used-by-checks",
    "CACHE_REDIS_URL": "redis://redis:6379/1",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
}


def _manage(settings: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "POSTGRES_", "CACHE_", "CELERY_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SERVICES,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": settings},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("role", ["web", "api", "worker"])
def test_production_defaults_pass_check_deploy(role):
    result = _manage(f"config.settings.{role}", PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "CELERY_BROKER_URL"])
def test_a_missing_required_variable_stops_start_up_naming_it(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = _manage("config.settings.api", env, "check")
    assert result.returncode != 0
    assert f"The environment variable {missing} is required but not set." in result.stderr


def test_every_variable_the_code_reads_is_in_the_readme_table():
    """The README's configuration table lists each variable once; the code reads no other."""
    import re

    code = "\n".join(p.read_text() for p in _service_modules())
    read = set(re.findall(r'env_\w+\("([A-Z_]+)"', code)) | set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', code))
    read -= {"DJANGO_SETTINGS_MODULE"}
    table = re.findall(r"^\| `([A-Z_]+)` \|", (REPO / "README.md").read_text(), re.M)
    assert sorted(set(table)) == sorted(table), "a variable is listed twice"
    assert read - set(table) == set(), "variables missing from the README table"


def test_the_readme_table_gives_the_code_defaults():
    """Each default in the README's configuration table is the one the code falls back to.

    Limits have no value in config.env: their code defaults are the production values, and the
    table is where operators read them (k8s/tests/test_policy.py holds the production ConfigMap
    to the same table).
    """
    import ast
    import re

    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", (REPO / "README.md").read_text(), re.M))
    checked = 0
    for module in _service_modules():
        for call in ast.walk(ast.parse(module.read_text())):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", "").startswith("env_")):
                continue
            if len(call.args) < 2 or not isinstance(call.args[0], ast.Constant):
                continue
            name, default = call.args[0].value, ast.literal_eval(call.args[1])
            if isinstance(default, bool):
                default = str(default).lower()
            elif isinstance(default, list | tuple):
                default = ",".join(default)
            cell = rows[name].strip()
            if re.fullmatch(r"`[^`]*`", cell):  # a plain value, not "required" or a per-service note
                assert cell == f"`{default}`", (
                    f"{name}: the README says {cell}, {module.name} falls back to {default!r}"
                )
                checked += 1
    assert checked >= 25  # the parser still finds the defaults


def _service_modules() -> list[Path]:
    """Return the Python modules of the services (what runs in the images), tests excluded."""
    return [p for p in SERVICES.rglob("*.py") if "tests" not in p.relative_to(SERVICES).parts]


def test_base_image_defaults_agree_everywhere():
    """The official image names are written in three places that must say the same thing."""
    import re

    dockerfiles = (SERVICES / "Dockerfile").read_text() + (REPO / "gateway" / "Dockerfile").read_text()
    compose = (REPO / "docker-compose.yml").read_text()
    ensure = (REPO / "tools" / "ensure-base-images").read_text()
    declared = set(re.findall(r"^ARG (\w+_IMAGE)=(\S+)", dockerfiles, re.M))
    declared |= set(re.findall(r"\$\{(\w+_IMAGE):-([^}]+)\}", compose))
    assert {name for name, _ in declared} == {"PYTHON_IMAGE", "NGINX_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE"}
    for name, default in declared:
        assert f'"{name} {default} ' in ensure, f"{name}={default} differs in tools/ensure-base-images"


@pytest.mark.parametrize("merged", ["test", "build", "monolith"])
def test_merged_settings_have_every_setting_of_every_role(merged):
    """test, build and monolith run the code of several roles, so they include every settings part.

    A setting added to one role's part and left out of these would pass that role's tests and fail
    elsewhere (the test suite's real worker, collectstatic, the bench monolith).
    """
    script = (
        "import importlib, json, sys\n"
        "names = lambda role: {n for n in vars(importlib.import_module(f'config.settings.{role}')) if n.isupper()}\n"
        "print(json.dumps(sorted((names('web') | names('api') | names('worker')) - names(sys.argv[1]))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, merged],
        cwd=SERVICES,
        env={**os.environ, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [], f"settings of a role missing from config.settings.{merged}"


def test_a_rotated_key_still_accepts_signatures_of_the_former_one():
    """DJANGO_SECRET_KEY_FALLBACKS keeps what the old key signed valid (sessions, reset links)."""
    from django.core import signing

    old_key = secrets.token_urlsafe(50)
    token = signing.dumps("still valid", key=old_key)
    script = "import django; django.setup(); from django.core import signing; print(signing.loads(%r))" % token
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.web"}
    rotated = subprocess.run(
        [sys.executable, "-c", script],
        cwd=SERVICES,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "DJANGO_SECRET_KEY_FALLBACKS": old_key},
    )
    without = subprocess.run(
        [sys.executable, "-c", script], cwd=SERVICES, capture_output=True, text=True, timeout=60, env=env
    )

    assert rotated.stdout.splitlines()[-1] == "still valid", rotated.stderr
    assert "BadSignature" in without.stderr


@pytest.mark.parametrize(
    ("value", "expected"), [("600/min", "600/min"), ("10/hour", "10/hour"), ("none", None), ("None", None)]
)
def test_a_throttle_rate_is_a_drf_rate_or_none(monkeypatch, value, expected):
    from config.env import env_rate

    monkeypatch.setenv("API_THROTTLE_ANON", value)
    assert env_rate("API_THROTTLE_ANON", "600/min") == expected


@pytest.mark.parametrize("value", ["600", "600/", "/min", "١٠/min", "ten/min", "600/week", "600 per minute"])
def test_a_mistyped_throttle_rate_stops_start_up_naming_it(monkeypatch, value):
    """DRF would only fail at the first request it throttles, with a 500; this fails at start."""
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_rate

    monkeypatch.setenv("API_THROTTLE_ANON", value)
    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_ANON must be a rate like 600/min"):
        env_rate("API_THROTTLE_ANON", "600/min")


def test_a_mistyped_gunicorn_number_stops_start_up_naming_it():
    """gunicorn's config reads its variables through config.env, like the settings do."""
    result = subprocess.run(
        [sys.executable, "-c", "import config.gunicorn"],
        cwd=SERVICES,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GUNICORN_WORKERS": "two"},
    )
    assert result.returncode != 0
    assert "GUNICORN_WORKERS must be an integer, got 'two'." in result.stderr
