"""Signing up, logging in and out."""

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_creates_the_user_and_logs_them_in(client):
    response = client.post(
        reverse("web:signup"),
        {"username": "newcomer", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("web:home"), 303)]
    user = get_user_model().objects.get(username="newcomer")
    assert client.session[SESSION_KEY] == str(user.pk)
    body = response.content.decode()
    assert "newcomer" in body and "Log out" in body


def test_sign_up_with_mismatched_passwords_shows_the_form_again(client):
    response = client.post(
        reverse("web:signup"), {"username": "newcomer", "password1": PASSWORD, "password2": "other-pass-123"}
    )

    assert response.status_code == 200
    assert "password fields didn’t match" in response.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_login_with_the_right_password(client):
    user = UserFactory()

    response = client.post(reverse("web:login"), {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert client.session[SESSION_KEY] == str(user.pk)


def test_login_with_a_wrong_password_is_refused(client):
    user = UserFactory()

    response = client.post(reverse("web:login"), {"username": user.username, "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_logout_is_a_post_form_in_the_nav(user_client):
    home = user_client.get(reverse("web:home")).content.decode()
    assert f'<form class="inline" method="post" action="{reverse("web:logout")}">' in home

    response = user_client.post(reverse("web:logout"))

    assert response.status_code == 302
    assert SESSION_KEY not in user_client.session


def test_logout_does_not_answer_get(user_client):
    assert user_client.get(reverse("web:logout")).status_code == 405
    assert SESSION_KEY in user_client.session
