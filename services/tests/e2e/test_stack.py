"""The compose stack end to end, through the gateway, as a user and an operator see it."""

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from polls_loadtest.stack import docker
from tests.e2e.conftest import BASE_URL, STACK, compose, replicas, scale
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e


def _auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def _create_poll(gateway, token: str, choices=("Red", "Blue")) -> dict:
    body = {
        "question": "Which colour?",
        "choices": list(choices),
        "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    response = gateway.post(f"{BASE_URL}/api/polls/", json=body, headers=_auth(token), timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def test_each_route_reaches_its_service(gateway):
    page = gateway.get(f"{BASE_URL}/", timeout=10)
    api = gateway.get(f"{BASE_URL}/api/polls/", timeout=10)
    docs = gateway.get(f"{BASE_URL}/api/docs/", timeout=10)
    asset = re.search(r'/static/[^"]+\.[0-9a-f]{12}\.css', docs.text).group(0)
    static = gateway.get(f"{BASE_URL}{asset}", timeout=10)

    assert page.status_code == api.status_code == docs.status_code == static.status_code == 200
    assert page.headers["X-Served-By"] in replicas("web")
    assert api.headers["X-Served-By"] in replicas("api")
    assert static.headers["X-Served-By"] in replicas("static")


def test_static_assets_have_hashed_names_and_immutable_caching(gateway):
    docs = gateway.get(f"{BASE_URL}/api/docs/", timeout=10).text
    assets = re.findall(r'/static/[^"]+\.[0-9a-f]{12}\.(?:css|js)', docs)
    assert assets, "the API docs page links its assets by hashed name"
    response = gateway.get(f"{BASE_URL}{assets[0]}", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers.get("Content-Encoding") == "gzip"


def test_gateway_health_and_hidden_service_endpoints(gateway):
    assert gateway.get(f"{BASE_URL}/healthz", timeout=5).status_code == 200
    for path in ("/readyz", "/metrics", "/api/../metrics"):
        assert gateway.get(f"{BASE_URL}{path}", timeout=5).status_code == 404, path
    # ...while the services themselves answer them on their own port.
    probe = "import os, urllib.request as u; print(u.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/{}').read().decode())"
    assert '"status": "ok"' in compose("exec", "-T", "api", "python", "-c", probe.replace("{}", "readyz"))
    assert "django_http_requests_total" in compose("exec", "-T", "web", "python", "-c", probe.replace("{}", "metrics"))


def test_request_ids_are_passed_or_set(gateway):
    mine = gateway.get(f"{BASE_URL}/api/polls/", headers={"X-Request-ID": "e2e-abc.123"}, timeout=5)
    bad = gateway.get(f"{BASE_URL}/api/polls/", headers={"X-Request-ID": "no spaces allowed"}, timeout=5)
    assert mine.headers["X-Request-ID"] == "e2e-abc.123"
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["X-Request-ID"])


def test_oversized_bodies_get_413_from_the_gateway(gateway, api_token):
    response = gateway.post(
        f"{BASE_URL}/api/polls/", data=b"x" * (2 * 1024 * 1024), headers=_auth(api_token), timeout=10
    )
    assert response.status_code == 413
    assert "X-Served-By" not in response.headers  # refused before it reached api


def test_bad_input_through_the_gateway_is_a_clear_4xx(gateway, api_token):
    headers = {**_auth(api_token), "Content-Type": "application/json"}
    malformed = gateway.post(f"{BASE_URL}/api/polls/", data='{"question": ', headers=headers, timeout=10)
    wrong_types = gateway.post(f"{BASE_URL}/api/polls/", json={"question": 5, "choices": "x"}, headers=headers)
    unknown = gateway.get(f"{BASE_URL}/api/polls/987654321/", timeout=10)
    assert malformed.status_code == 400 and "detail" in malformed.json()
    assert wrong_types.status_code == 400 and "choices" in wrong_types.json()
    assert unknown.status_code == 404


def test_a_vote_cast_through_the_api_shows_on_the_web_results_page(gateway, api_token):
    poll = _create_poll(gateway, api_token, choices=("Mountains", "Seaside"))
    seaside = next(c for c in poll["choices"] if c["text"] == "Seaside")

    vote = gateway.post(
        f"{BASE_URL}/api/polls/{poll['id']}/vote/", json={"choice_id": seaside["id"]}, headers=_auth(api_token)
    )
    again = gateway.post(
        f"{BASE_URL}/api/polls/{poll['id']}/vote/", json={"choice_id": seaside["id"]}, headers=_auth(api_token)
    )
    page = gateway.get(f"{BASE_URL}/polls/{poll['id']}/results/", timeout=10)

    assert vote.status_code == 201
    assert again.status_code == 409
    assert page.status_code == 200
    assert "1 vote in total" in page.text
    assert re.search(r"Seaside.*?1 vote ", page.text, re.S)


def test_an_export_runs_on_the_worker_and_carries_the_request_id(gateway, api_token):
    poll = _create_poll(gateway, api_token)
    request_id = f"e2e-export-{int(time.time())}"
    started = gateway.post(
        f"{BASE_URL}/api/exports/",
        json={"poll_id": poll["id"]},
        headers={**_auth(api_token), "X-Request-ID": request_id},
        timeout=10,
    )
    assert started.status_code == 202
    status_url = started.json()["status_url"]

    def done():
        body = gateway.get(status_url, headers=_auth(api_token), timeout=5).json()
        return body if body["status"] == "done" else None

    finished = wait_for(done, 60, "the export")
    csv = gateway.get(finished["download_url"], headers=_auth(api_token), timeout=10)
    assert csv.status_code == 200
    assert csv.text.splitlines()[0] == "poll_id,question,choice_id,choice,votes"
    assert request_id in compose("logs", "--no-color", "worker")


def test_scaled_out_api_replicas_all_get_requests_within_10_seconds(gateway):
    try:
        scale("api", 3)
        expected = set(replicas("api"))
        assert len(expected) == 3
        seen: set[str] = set()
        started = time.monotonic()

        def all_seen():
            seen.add(gateway.get(f"{BASE_URL}/api/polls/", timeout=5).headers["X-Served-By"])
            return seen == expected

        wait_for(all_seen, 10, f"requests to reach all of {sorted(expected)} (saw {sorted(seen)})", 0.05)
        print(f"all 3 api replicas served requests {time.monotonic() - started:.1f}s after scale-out")
    finally:
        scale("api", 1)


def test_the_readmes_plain_compose_scale_command_works_outside_make(gateway):
    """`docker compose up -d --wait --scale api=3`, as the README shows it, without the base-image
    variables make exports: compose finds them in .env, so it recreates and pulls nothing (on a
    machine without a registry a pull fails, and the api was left stopped)."""
    make_only = ("PYTHON_IMAGE", "NGINX_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE")
    # The services whose images would be pulled from a registry without .env's names.
    others = ("postgres", "redis")
    before = {service: replicas(service) for service in others}
    try:
        compose("up", "-d", "--wait", "--scale", "api=3", without=make_only)

        assert len(replicas("api")) == 3
        assert {service: replicas(service) for service in others} == before, "a service was recreated"
    finally:
        scale("api", 1)


def test_stopping_an_api_replica_under_concurrent_load_fails_no_request(gateway):
    """docker stop (SIGTERM) of one of two api replicas while 4 clients send GETs: zero failures."""
    scale("api", 2)
    victim = next(iter(replicas("api").values()))
    stop = threading.Event()
    results = {"ok": 0, "failed": []}
    lock = threading.Lock()

    def client():
        session = requests.Session()  # keep-alive, as real clients
        for _ in range(5000):  # bounded in count ...
            if stop.is_set():  # ... and in time (below)
                return
            try:
                response = session.get(f"{BASE_URL}/api/polls/", timeout=10)
                outcome = response.status_code == 200 or f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                outcome = repr(exc)
            with lock:
                if outcome is True:
                    results["ok"] += 1
                else:
                    results["failed"].append(outcome)

    threads = [threading.Thread(target=client) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(2)
        assert victim in compose("ps", "--quiet", "api")  # both still listed before the stop
        STACK.stop(victim)
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        scale("api", 1)

    print(f"{results['ok']} requests succeeded during the stop")
    assert results["failed"] == []
    assert results["ok"] > 100


@pytest.mark.parametrize("service", ["gateway", "web", "api", "worker", "beat", "static"])
def test_containers_run_read_only_as_non_root(service):
    container = next(iter(replicas(service).values()))
    inspect = compose("exec", "-T", service, "sh", "-c", "id -u; touch /probe 2>&1 || echo read-only")
    uid, *rest = inspect.split()
    read_only = docker("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}", container)
    assert uid != "0"
    assert "read-only" in " ".join(rest)
    assert read_only.startswith("true") and "ALL" in read_only


def _metric_total(container: str, route: str, status: str) -> float:
    """Return a counter's value from one /metrics scrape inside the container (any gunicorn worker)."""
    fetch = "import os, urllib.request as u; print(u.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/metrics').read().decode())"
    scrape = docker("exec", container, "python", "-c", fetch, timeout=30)
    pattern = (
        r'^django_http_requests_total\{method="GET",route="'
        + re.escape(route)
        + r'",status="'
        + status
        + r'"\} ([0-9.e+]+)$'
    )
    match = re.search(pattern, scrape, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_add_up_across_gunicorn_workers(gateway):
    """Requests spread over a replica's gunicorn workers; every scrape reports all of them."""
    api_replicas = list(replicas("api").values())
    assert len(api_replicas) == 1, "the test expects the default single api replica"
    container = api_replicas[0]
    route = "api/polls/<id:poll_id>/"  # the route label is the URL pattern (runtime.url_numbers)
    before = _metric_total(container, route, "404")
    for _ in range(40):
        assert gateway.get(f"{BASE_URL}/api/polls/987654321/", timeout=10).status_code == 404
    scrapes = [_metric_total(container, route, "404") - before for _ in range(4)]
    assert scrapes == [40.0] * 4


def test_sigterm_turns_readiness_to_503_while_the_replica_drains(gateway):
    """During DRAIN_SECONDS after SIGTERM, /readyz says 503 and requests are still served."""
    scale("api", 2)
    victim = next(iter(replicas("api").values()))
    probe = (
        "import urllib.request as u, urllib.error as e\n"
        "for path in ('readyz', 'healthz'):\n"
        "    try: print(path, u.urlopen('http://127.0.0.1:8001/' + path).status)\n"
        "    except e.HTTPError as err: print(path, err.code)\n"
    )
    try:
        docker("kill", "--signal", "TERM", victim)
        answer = docker("exec", victim, "python", "-c", probe, timeout=30).split()
    finally:
        scale("api", 1)
    assert answer == ["readyz", "503", "healthz", "200"]
