"""Crafted requests over every route of web and api are a 4xx (or a page), never a 5xx or a traceback.

Django's test client against real PostgreSQL and Redis; tests/e2e/test_hostile_requests.py sends
the same battery through the gateway.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from domain.models import Choice, Poll, ResultExport, Vote
from tests import hostile
from tests.factories import PollFactory, UserFactory

pytestmark = pytest.mark.django_db


def _send(client: Client, attempt: hostile.Attempt):
    if attempt.method == "POST":
        return client.post(attempt.path, attempt.form)
    return client.generic(attempt.method, attempt.path)


def _run(client: Client, attempts: list[hostile.Attempt], *, user=None) -> list[str]:
    broken = []
    for attempt in attempts:
        response = _send(client, attempt)
        if hostile.looks_broken(response.status_code, response.content):
            broken.append(f"{attempt} -> {response.status_code}")
        if user is not None and "_auth_user_id" not in client.session:
            client.force_login(user)  # a logout route ended the session: keep sweeping logged in
    return broken


def _rows() -> tuple[int, ...]:
    return (get_user_model().objects.count(), Poll.objects.count(), Choice.objects.count(), Vote.objects.count())


@pytest.fixture
def world():
    """A poll, an export of it and a superuser with an API token, so every view can be reached."""
    admin = UserFactory(is_staff=True, is_superuser=True)
    poll = PollFactory()
    export = ResultExport.objects.create(poll=poll, requested_by=admin)
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin).key}")
    client.force_login(admin)
    return {"admin": admin, "poll": poll, "export": export, "client": client}


def test_every_route_answers_hostile_requests_without_a_server_error(world):
    routes = hostile.every_route("tests.urls")
    assert len(routes) > 80, "web, api and the admin"
    valid = sorted({str(world["poll"].pk), str(world["export"].pk)})
    attempts = hostile.sweep(routes, valid_ids=valid)
    before = _rows()

    broken = _run(world["client"], attempts, user=world["admin"])
    broken += _run(Client(), hostile.sweep(routes, valid_ids=valid[:1]))

    assert broken == [], f"{len(broken)} of {len(attempts)} hostile requests broke:\n" + "\n".join(broken[:40])
    assert _rows() == before, "a hostile request wrote a row"


def test_every_form_rejects_hostile_values_with_a_4xx_or_the_form_again(world):
    """Login, admin login, sign-up, vote, export and token forms: a 4xx, the form again (200) or a
    redirect to log in (or home, for a user already logged in); nothing is written."""
    attempts = hostile.form_battery(poll_id=world["poll"].pk, choice_id=world["poll"].choices.first().pk)
    anonymous, user = Client(), _logged_in(UserFactory())
    exports = ResultExport.objects.count()
    before = _rows()

    broken, accepted = [], []
    for who, client in (("anonymous", anonymous), ("user", user)):
        for attempt in attempts:
            response = _send(client, attempt)
            if hostile.looks_broken(response.status_code, response.content):
                broken.append(f"{attempt} as {who} -> {response.status_code}")
            elif response.status_code == 303:  # the answer to a form that did what it was asked
                accepted.append(f"{attempt} as {who} -> {response.status_code} {response['Location']}")

    assert broken == [], "\n".join(broken)
    assert accepted == [], "a hostile form was accepted:\n" + "\n".join(accepted)
    assert _rows() == before, "a hostile form wrote a row"
    assert ResultExport.objects.count() == exports


def test_nul_bytes_in_a_query_or_form_are_a_400(client, world):
    assert client.get("/?page=1%00").status_code == 400
    assert client.get("/api/polls/?status=open%00").json() == {
        "detail": "NUL characters are not allowed in the request."
    }
    assert client.post("/accounts/login/", {"username": "a\x00", "password": "b"}).status_code == 400


@pytest.mark.parametrize("page", ["%C2%B2", "%D9%A1%D9%A2", "9" * 4096, "0", "-1", "1.5", "%00"])
def test_a_crafted_api_page_number_is_a_4xx(client, page):
    """GET /api/polls/?page=² answered 500: str.isdigit accepts other scripts' digits."""
    response = client.get(f"/api/polls/?page={page}")
    assert response.status_code in (400, 404)


def test_other_scripts_digits_in_an_admin_path_do_not_name_an_object(world):
    """int() reads "١٢" as 12: the admin would delete poll 12 for a POST to .../١٢/delete/."""
    poll = world["poll"]
    lookalike = str(poll.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))

    response = world["client"].post(f"/admin/domain/poll/{lookalike}/delete/", {"post": "yes"})

    assert response.status_code == 404
    assert Poll.objects.filter(pk=poll.pk).exists()
    assert world["client"].get(f"/api/polls/{lookalike}/").json() == {"detail": "Not found."}


@pytest.mark.parametrize("poll_id", ["9" * 4096, str(2**63), str(2**64)])
def test_an_id_beyond_bigint_is_a_404(client, poll_id):
    assert client.get(f"/api/polls/{poll_id}/").status_code == 404
    assert client.get(f"/polls/{poll_id}/").status_code == 404


@pytest.mark.parametrize("choice", ["١٢", str(2**63), str(2**64), "9" * 4096])
def test_a_crafted_choice_id_is_a_400_and_casts_no_vote(user, user_api, choice):
    poll = PollFactory()
    user_client = _logged_in(user)

    assert user_api.post(f"/api/polls/{poll.pk}/vote/", {"choice_id": choice}, format="json").status_code == 400
    assert user_client.post(f"/polls/{poll.pk}/vote/", {"choice": choice}).status_code == 400
    assert not Vote.objects.exists()


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
