"""Signed-in API requests read the token and its user from Redis, and lose them the moment they go."""

import pytest
from django.contrib.auth.models import update_last_login
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from domain import token_cache

pytestmark = pytest.mark.django_db

LIST = "/api/polls/"


def test_after_the_first_request_a_token_costs_no_query(user_api, django_assert_num_queries):
    assert user_api.get(LIST).status_code == 200  # caches the token (and the list)

    with django_assert_num_queries(0):
        assert user_api.get(LIST).status_code == 200


def test_redis_holds_a_digest_of_the_token_not_the_token(user_api, user):
    user_api.get(LIST)
    key = Token.objects.get(user=user).key

    assert cache.get(token_cache._key(key)).user == user
    assert key not in token_cache._key(key)


@pytest.mark.parametrize(
    "revoke",
    [
        pytest.param(lambda user: Token.objects.get(user=user).delete(), id="token deleted"),
        pytest.param(lambda user: user.delete(), id="user deleted"),
        pytest.param(lambda user: setattr(user, "is_active", False) or user.save(), id="user deactivated"),
    ],
)
def test_a_revoked_token_is_refused_at_once(user_api, user, revoke, django_capture_on_commit_callbacks):
    assert user_api.get(LIST).status_code == 200  # cached

    with django_capture_on_commit_callbacks(execute=True):
        revoke(user)

    assert user_api.get(LIST).status_code == 401
    assert user_api.post(LIST, {}, format="json").status_code == 401


def test_an_unknown_token_is_refused_and_not_cached(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert api_client.get(LIST).status_code == 401
    assert cache.get(token_cache._key("0" * 40)) is None


def test_a_login_elsewhere_keeps_the_cached_token_and_queries_nothing_for_it(
    user_api, user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """Only last_login changes on a web login: nothing a token's check reads, so no token lookup."""
    user_api.get(LIST)

    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(1):  # the UPDATE
        update_last_login(None, user)

    assert cache.get(token_cache._key(Token.objects.get(user=user).key)) is not None
