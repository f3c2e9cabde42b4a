"""PostgreSQL connections on a scaled-out stack: each replica within its pools, whatever the load.

A web or api replica holds at most GUNICORN_WORKERS x POSTGRES_POOL_SIZE connections (one pool per
gunicorn process, config.settings.parts.database), which is what `make capacity` budgets and what
keeps the autoscaling maxima inside max_connections (loadtest/tests/test_bench.py). With one
persistent connection per thread instead, a replica under load holds one per busy thread.
"""

import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from polls_loadtest.bench.capacity import CONFIG_ENV, read_env
from tests.e2e.conftest import BASE_URL, STACK, scale

pytestmark = pytest.mark.e2e

SERVICES = ("web", "api")
CLIENTS = 24
SECONDS = 8


def _connections_by_address() -> Counter:
    """Return how many client sessions of the app PostgreSQL has open, by client address."""
    query = "SELECT client_addr FROM pg_stat_activity WHERE usename = 'polls' AND client_addr IS NOT NULL"
    return Counter(address for (address,) in STACK.sql(query))


def _client(number: int, token: str, stop: threading.Event, outcomes: Counter, lock: threading.Lock) -> None:
    """Send requests that each need the database until told to stop (and at most 2000).

    api: an export that does not exist (looked up in PostgreSQL; 404). web: the login page with a
    session cookie (the session is looked up to see whether the user is logged in already).
    """
    session = requests.Session()
    if number % 2:
        service, url, headers = "api", f"{BASE_URL}/api/exports/999999999/", {"Authorization": f"Token {token}"}
    else:
        service, url, headers = "web", f"{BASE_URL}/accounts/login/", {"Cookie": f"sessionid={uuid.uuid4().hex}"}
    for _ in range(2000):
        if stop.is_set():
            return
        try:
            outcome = f"{service} {session.get(url, headers=headers, timeout=10).status_code}"
        except requests.RequestException as exc:
            outcome = f"{service} {type(exc).__name__}"
        with lock:
            outcomes[outcome] += 1


def test_scaled_out_replicas_hold_no_more_connections_than_their_pools(gateway, api_token):
    env = read_env(CONFIG_ENV)
    per_replica = int(env["GUNICORN_WORKERS"]) * int(env["POSTGRES_POOL_SIZE"])
    threads_per_replica = int(env["GUNICORN_WORKERS"]) * int(env["GUNICORN_THREADS"])
    assert per_replica < threads_per_replica, "the pools would bound nothing: compare with the threads"
    stop, lock, outcomes = threading.Event(), threading.Lock(), Counter()
    most: Counter = Counter()
    clients: list[threading.Thread] = []
    try:
        for service in SERVICES:
            scale(service, 3)
        owners = {c.ip: f"{service} {c.name}" for service in SERVICES for c in STACK.containers(service)}
        assert len(owners) == 6
        clients += [threading.Thread(target=_client, args=(n, api_token, stop, outcomes, lock)) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            for address, count in _connections_by_address().items():
                most[address] = max(most[address], count)
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
        for service in SERVICES:
            scale(service, 1)

    held = {owners[address]: count for address, count in most.items() if address in owners}
    print(f"most connections per replica: {held}; requests: {dict(outcomes)}")
    assert set(outcomes) == {"api 404", "web 200"}, outcomes
    assert sum(outcomes.values()) > 200
    # Every replica that served the load used the database ...
    assert len(held) == 6, f"replicas without a connection: {sorted(set(owners.values()) - set(held))}"
    # ... and none held more than its pools allow.
    assert max(held.values()) <= per_replica, held
