"""X-Request-ID: a well-formed incoming id is kept, anything else replaced by nginx's own
(32 hex digits); the id goes upstream, back to the client and into the access log."""

import re

import pytest

GENERATED = re.compile(r"[0-9a-f]{32}")
WELL_FORMED = "trace-1.2:ABC_z"  # every kind of character ^[A-Za-z0-9._:-]{1,128}$ allows


def test_request_without_id_gets_a_generated_one(edge):
    """No id from the client: the answer carries a fresh 32-hex-digit id."""
    answer = edge.request("GET", "/api/rid")
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


def test_generated_id_goes_upstream(edge):
    """The id the client gets back is the one the service saw."""
    answer = edge.request("GET", "/api/rid")
    assert answer.json()["headers"]["x-request-id"] == answer.headers["x-request-id"]


def test_well_formed_id_is_kept_in_the_answer(edge):
    answer = edge.request("GET", "/api/rid", {"X-Request-ID": WELL_FORMED})
    assert answer.headers["x-request-id"] == WELL_FORMED


def test_well_formed_id_goes_upstream(edge):
    answer = edge.request("GET", "/api/rid", {"X-Request-ID": WELL_FORMED})
    assert answer.json()["headers"]["x-request-id"] == WELL_FORMED


def test_answer_has_exactly_one_request_id(edge):
    """The gateway sets the id once: a client never gets two."""
    assert edge.request("GET", "/api/rid", {"X-Request-ID": WELL_FORMED}).count("X-Request-ID") == 1


@pytest.mark.parametrize("bad", ["bad id", "x;y", "a" * 129])
def test_malformed_id_is_replaced(edge, bad):
    """An id with other characters or over 128 long is replaced, upstream and in the answer."""
    answer = edge.request("GET", "/", {"X-Request-ID": bad})
    assert GENERATED.fullmatch(answer.headers["x-request-id"])
    assert answer.json()["headers"]["x-request-id"] == answer.headers["x-request-id"]


def test_request_id_is_in_the_access_log(edge):
    """The id a client sent is in the gateway's JSON log line for its request."""
    edge.request("GET", "/api/rid?logged=1", {"X-Request-ID": WELL_FORMED})
    lines = edge.wait_for_log(lambda line: line["uri"] == "/api/rid?logged=1")
    assert [line["request_id"] for line in lines] == [WELL_FORMED]
