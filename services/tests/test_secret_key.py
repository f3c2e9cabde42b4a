"""A published or short DJANGO_SECRET_KEY stops every role at start-up, naming the variable."""

import pytest

from runtime.secret_key import weakness
from tests.test_settings import PRODUCTION_ENV, _manage

EXAMPLE_KEY = "CHANGE-ME-50-random-characters"  # k8s/base/secret.example.yaml


@pytest.mark.parametrize("role", ["web", "api", "worker"])
@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (EXAMPLE_KEY, "is the example value"),
        (EXAMPLE_KEY + "-padded-to-be-long-enough-0123456789", "is the example value"),
        ("short-but-random-Zq8", "has 20 characters; it needs at least 50"),
        ("ab" * 30, "fewer than 5 distinct characters"),
        ("django-insecure-" + "x1y2z3" * 10, "django-insecure-"),
    ],
)
def test_an_unsafe_key_stops_start_up_naming_it(role, key, reason):
    result = _manage(f"config.settings.{role}", {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": key}, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY " in result.stderr
    assert reason in result.stderr
    assert key not in result.stderr, "the key itself is never printed"


def test_the_files_that_hold_the_example_key_hold_one_that_is_refused():
    from tests.test_settings import REPO

    for path in ("k8s/base/secret.example.yaml", "k8s/overlays/production/secret.example.yaml"):
        line = next(line for line in (REPO / path).read_text().splitlines() if "DJANGO_SECRET_KEY:" in line)
        assert weakness(line.split(":", 1)[1].strip()) is not None, path


def test_a_generated_key_is_accepted():
    assert weakness(PRODUCTION_ENV["DJANGO_SECRET_KEY"]) is None
    assert weakness("a9e670e62e06c05cd45335d2b986e23493a9be8ad4f634e6f238d4f2751d4107") is None  # make-secrets


def test_the_image_build_settings_accept_the_collectstatic_placeholder():
    """The Dockerfile runs collectstatic with DJANGO_SECRET_KEY=collectstatic-only."""
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "collectstatic-only"}
    assert _manage("config.settings.build", env, "check").returncode == 0
    assert _manage("config.settings.web", env, "check").returncode != 0
