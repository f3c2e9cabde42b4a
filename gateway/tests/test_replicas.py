"""Replicas coming and going behind the gateway: scale out and in, retries, and the one more pass
after the peer list changed (gateway/README.md, "Retries" and "One more pass after a list change").

Each scenario has its own gateway whose upstream name (API_UPSTREAM or WEB_UPSTREAM) resolves
only to the scenario's own replicas (fake_upstream.py), so adding and removing them touches
nothing else in the lab. Each scenario is played once (given, when) and the tests check what it
recorded (then). The scenarios spend most of their time waiting (for the gateway to re-resolve a
name, for a replica's hold), so `played` runs them side by side. None removes a replica before
every scenario has started all its containers (`all_started`): Docker may hand a freed address
to the next container at once, and a gateway still holding it would reach another scenario's
replica instead of a vanished one.
"""

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from gatewaylab import Gateway, Response

RESOLVE_VALID_S = 5  # the template's `resolver ... valid=5s`, and each server's fail_timeout


def status_of(gateway: Gateway, method: str, path: str, **kwargs) -> int | str:
    """Return the status of one request, or the error that stood for one (a reset, a timeout)."""
    try:
        return gateway.request(method, path, **kwargs).status
    except OSError as error:
        return type(error).__name__


def hosts_seen(
    gateway: Gateway, expected: set[str], seconds: float, since: float | None = None
) -> tuple[set[str], float]:
    """Ask /api/whoami until every expected replica has answered; return who did and how long it
    took (since `since`, a time.monotonic(), if given)."""
    start = since or time.monotonic()
    seen: set[str] = set()
    while seen != expected and time.monotonic() - start < seconds:
        answer = gateway.request("GET", "/api/whoami")
        if answer.status == 200:
            seen.add(answer.json()["host"])
        time.sleep(0.2)
    return seen, time.monotonic() - start


# ---- scale out, and a replica that answers 503 ----------------------------------------------

FLAKY_PAIR = {"flaky-api1", "flaky-api2"}


@dataclass
class FlakyPair:
    seen: set[str]
    seconds: float
    get_statuses: list[int | str]
    get_retried: bool
    post_statuses: list[int | str]
    post_lines: list[dict]


def play_flaky_pair(lab, all_started: threading.Barrier) -> FlakyPair:
    """A gateway in front of one api replica; then a second joins, which answers 503 on /api/flaky.
    Once both serve: GET /api/flaky at least 20 times, until the log shows one retried after the
    503; then POST it until one gets the 503 (the failing replica is skipped for 5 s after each
    failure, so that may take a few seconds). Each loop stops after 20 s."""
    lab.start_replica("flaky-api1", "flaky-api")
    gateway = lab.start_gateway("flaky", {"API_UPSTREAM": "flaky-api:8001"})
    lab.start_replica("flaky-api2", "flaky-api", env={"FAKE_FLAKY": "1"})
    joined = time.monotonic()
    all_started.wait()
    pair = FlakyPair(*hosts_seen(gateway, FLAKY_PAIR, seconds=15, since=joined), [], False, [], [])

    deadline = time.monotonic() + 20
    for i in range(60):
        pair.get_statuses.append(status_of(gateway, "GET", f"/api/flaky?i={i}"))
        pair.get_retried = pair.get_retried or any(
            line["method"] == "GET" and line["upstream_status"] == "503, 200" for line in gateway.access_log()
        )
        if (pair.get_retried and i >= 19) or time.monotonic() > deadline:
            break
        time.sleep(0.25)

    deadline = time.monotonic() + 20
    while 503 not in pair.post_statuses and time.monotonic() < deadline:
        pair.post_statuses.append(status_of(gateway, "POST", f"/api/flaky?post={len(pair.post_statuses)}", body=b"x=1"))
        time.sleep(0.25)
    pair.post_lines = gateway.wait_for_log(lambda line: line["method"] == "POST", count=len(pair.post_statuses))
    return pair


def test_scale_out_is_noticed_within_10_s(flaky_pair):
    """A replica added under the same name gets requests once the name is re-resolved."""
    assert flaky_pair.seen == FLAKY_PAIR
    assert flaky_pair.seconds <= 10


def test_get_after_a_503_is_retried_on_the_other_replica(flaky_pair):
    """The access log shows both tries of one GET: "503, 200"."""
    assert flaky_pair.get_retried


def test_every_get_of_the_flaky_path_gets_200(flaky_pair):
    """The client never sees the failing replica's 503 on a GET."""
    assert flaky_pair.get_statuses and set(flaky_pair.get_statuses) == {200}


def test_post_that_reached_a_failing_replica_gets_its_503(flaky_pair):
    """A POST is not idempotent: the replica's 503 comes back as is."""
    assert flaky_pair.post_statuses[-1] == 503


def test_post_is_never_tried_on_two_replicas(flaky_pair):
    """Every POST's log line shows one try."""
    assert len(flaky_pair.post_lines) == len(flaky_pair.post_statuses)
    assert [
        line["upstream_status"] for line in flaky_pair.post_lines if not re.fullmatch(r"\d{3}", line["upstream_status"])
    ] == []


# ---- scale in: a replica removed abruptly ----------------------------------------------------


@dataclass
class ScaleIn:
    removed_ip: str
    right_after: list[int | str]
    later: list[dict]


def play_scale_in(lab, all_started: threading.Barrier) -> ScaleIn:
    """Two api replicas serving; one is removed (docker rm -f); 30 GETs follow at once, and 10 more
    once the name has been re-resolved."""
    lab.start_replica("in-api1", "in-api")
    removed = lab.start_replica("in-api2", "in-api")
    gateway = lab.start_gateway("scale-in", {"API_UPSTREAM": "in-api:8001"})
    all_started.wait()
    seen, _ = hosts_seen(gateway, {"in-api1", "in-api2"}, seconds=15)
    assert seen == {"in-api1", "in-api2"}, "both replicas must serve before one is removed"
    removed_ip = lab.ip_of(removed)
    lab.remove(removed)
    right_after = []
    for i in range(30):
        right_after.append(status_of(gateway, "GET", f"/api/after-kill?i={i}"))
        time.sleep(0.1)
    time.sleep(RESOLVE_VALID_S + 1)
    for i in range(10):
        status_of(gateway, "GET", f"/api/later?i={i}")
    later = gateway.wait_for_log(lambda line: line["uri"].startswith("/api/later"), count=10)
    return ScaleIn(removed_ip, right_after, later)


def test_gets_right_after_a_replica_vanished_all_succeed(scale_in):
    """Tries on the vanished address fail fast (1 s connect timeout) and go to the other replica."""
    assert scale_in.right_after == [200] * 30


def test_scale_in_is_noticed_after_re_resolution(scale_in):
    """Once the name is re-resolved, no try goes to the removed replica's address."""
    assert scale_in.removed_ip
    assert len(scale_in.later) == 10
    assert [
        line["upstream_addr"] for line in scale_in.later if f"{scale_in.removed_ip}:8001" in line["upstream_addr"]
    ] == []


# ---- the peer list changes while a request is between tries -----------------------------------


@dataclass
class ListChange:
    get: Response
    post: Response
    get_line: dict
    post_line: dict


def play_list_change(lab, all_started: threading.Barrier) -> ListChange:
    """Two api replicas hold /api/hold 7 s and then drop the connection. A GET and a POST go in;
    a healthy replica joins, and the gateway re-resolves the name (valid=5s) before the holds end.
    nginx does not move a request started on the old list to a peer of the new one ("no live
    upstreams"): the GET must get its one more pass (@redispatch); the POST was sent, so never again."""
    for name in ("swap-hold1", "swap-hold2"):
        lab.start_replica(name, "swap-api", env={"FAKE_HOLD_SECONDS": "7"})
    gateway = lab.start_gateway("swap", {"API_UPSTREAM": "swap-api:8001"})
    with ThreadPoolExecutor(2) as pool:
        get = pool.submit(gateway.request, "GET", "/api/hold?m=get", timeout=40)
        post = pool.submit(gateway.request, "POST", "/api/hold?m=post", body=b"x=1", timeout=40)
        time.sleep(0.5)
        lab.start_replica("swap-fresh1", "swap-api")
        all_started.wait()
        get, post = get.result(), post.result()
    lines = {
        line["uri"]: line for line in gateway.wait_for_log(lambda line: line["uri"].startswith("/api/hold?m="), count=2)
    }
    return ListChange(get, post, lines["/api/hold?m=get"], lines["/api/hold?m=post"])


def test_get_failing_after_the_list_changed_gets_one_more_pass(list_change):
    """The GET's second pass reaches the new replica; the log shows both passes ("..., api : ...")."""
    assert list_change.get.status == 200
    assert list_change.get.json()["host"] == "swap-fresh1"
    assert ", api : " in list_change.get_line["upstream_addr"]


def test_post_that_reached_a_failing_replica_is_sent_once(list_change):
    """The POST's replica failed after it was sent: the short 503, one try in the log."""
    assert list_change.post.status == 503
    assert list_change.post_line["upstream_status"] == "502"


# ---- tries that never connect, and no replica at all ------------------------------------------


def play_refused(lab, all_started: threading.Barrier) -> tuple[Response, dict]:
    """A gateway whose only api replica listens on nothing; return its answer to a GET and the log line."""
    lab.start_idle("dead-api1", "dead-api")
    gateway = lab.start_gateway("dead", {"API_UPSTREAM": "dead-api:8001"}, ready_path="/healthz")
    all_started.wait()
    answer = gateway.request("GET", "/api/refused")
    (line,) = gateway.wait_for_log(lambda line: line["uri"] == "/api/refused")
    return answer, line


def test_get_refused_by_the_only_replica_gets_a_second_pass_then_503(refused):
    """A try that never connected (nothing listens) gets the second pass; with no other replica
    that pass finds none, and the client gets the short 503."""
    answer, line = refused
    assert answer.status == 503
    assert re.fullmatch(r"[0-9.]+:8001 : [0-9.]+:8001", line["upstream_addr"]), line["upstream_addr"]


def play_no_web_replica(lab, all_started: threading.Barrier) -> tuple[Response, float]:
    """A gateway whose only web replica is removed; return its answer to a page and how long it took."""
    web = lab.start_replica("gone-web1", "gone-web")
    gateway = lab.start_gateway("gone", {"WEB_UPSTREAM": "gone-web:8000"}, ready_path="/")
    all_started.wait()
    lab.remove(web)
    start = time.monotonic()
    answer = gateway.request("GET", "/polls/", timeout=15)
    return answer, time.monotonic() - start


def test_no_replica_left_gets_503_or_504_within_12_s(no_web_replica):
    answer, seconds = no_web_replica
    assert answer.status in (503, 504), answer
    assert seconds <= 12


def test_gateway_made_503_is_a_short_text(no_web_replica):
    answer, _ = no_web_replica
    assert b"<html" not in answer.body.lower()
    assert len(answer.body) < 200


# ---- the scenarios, played side by side ----------------------------------------------------------

SCENARIOS = [play_flaky_pair, play_scale_in, play_list_change, play_refused, play_no_web_replica]


@pytest.fixture(scope="module")
def played(lab):
    """Start every scenario of this module at once; return each one's future result by name.

    Each has its own gateway and replicas, so they do not disturb one another; together they take
    about as long as the longest (scale-in, about 15 s) instead of the sum."""
    all_started = threading.Barrier(len(SCENARIOS), timeout=90)

    def play_or_break_the_barrier(play):
        try:
            return play(lab, all_started)
        except BaseException:
            all_started.abort()  # the others stop waiting for this one
            raise

    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        yield {play.__name__.removeprefix("play_"): pool.submit(play_or_break_the_barrier, play) for play in SCENARIOS}


def _result_of(play) -> Callable:
    """Return a module fixture named after the scenario (play_scale_in: scale_in): its result."""
    name = play.__name__.removeprefix("play_")

    @pytest.fixture(scope="module", name=name)
    def result(played):
        return played[name].result()

    return result


flaky_pair, scale_in, list_change, refused, no_web_replica = map(_result_of, SCENARIOS)
