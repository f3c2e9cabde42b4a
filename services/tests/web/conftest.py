"""Fixtures for the web pages: browsers, anonymous or logged in."""

import pytest
from django.test import Client


@pytest.fixture
def user_client(user) -> Client:
    """A browser with the `user` fixture logged in."""
    client = Client()
    client.force_login(user)
    return client
