"""`manage.py seed` creates users with a published password, so it runs only when told so."""

import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.test_settings import SERVICES

pytestmark = pytest.mark.django_db


def test_seed_without_the_flag_refuses_and_creates_nothing():
    with pytest.raises(CommandError, match="--allow-public-password") as refused:
        call_command("seed", users=3, polls=2, verbosity=0)

    assert "polls-demo-password" in str(refused.value)
    assert not get_user_model().objects.exists()


def test_seed_with_the_flag_creates_the_demo_users():
    call_command("seed", users=3, polls=2, votes_per_poll=1, allow_public_password=True, verbosity=0)

    assert sorted(get_user_model().objects.values_list("username", flat=True)) == [
        "demo00000",
        "demo00001",
        "demo00002",
    ]


def test_the_command_line_exits_non_zero_with_the_reason():
    """Refused before it touches the database (the subprocess would see the stack's, not the test's)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "seed", "--users", "1"], cwd=SERVICES, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "--allow-public-password" in result.stderr
