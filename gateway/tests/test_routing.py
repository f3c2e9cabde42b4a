"""The gateway's routing table: which service each path reaches, what it answers itself, and
what goes upstream with a request (gateway/README.md, "path | goes to")."""

import gzip

import pytest
import static_files


def test_gateway_starts_and_routes_to_every_service(edge_with_static):
    """Started as compose runs it, the gateway reaches api, the real static service and web."""
    for path in ["/api/ping", f"/static/{static_files.PLAIN}", "/"]:
        assert edge_with_static.request("GET", path).status == 200, path


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/", "web"),
        ("/polls/1/", "web"),
        ("/admin/", "web"),
        ("/api/", "api"),
        ("/api/polls/?x=1", "api"),
        ("/api", "api"),
        ("/apix", "web"),
    ],
)
def test_path_goes_to_its_service_unchanged(edge, path, service):
    """Each path reaches its service, with the path and query as the client sent them."""
    echo = edge.request("GET", path).json()
    assert (echo["service"], echo["path"]) == (service, path)


def test_healthz_is_answered_by_the_gateway_itself(edge):
    """/healthz: 200 "ok" without an upstream (no replica's X-Served-By)."""
    answer = edge.request("GET", "/healthz")
    assert answer.status == 200
    assert b"ok" in answer.body
    assert "x-served-by" not in answer.headers


@pytest.mark.parametrize(
    "path",
    [
        "/readyz",
        "/metrics",
        "/metrics/",
        "//metrics",
        "/%6detrics",
        "/x/../readyz",
        "/healthz/",
        "/READYZ",
    ],
)
def test_probe_and_metrics_paths_are_not_exposed(edge, path):
    """The services' own probes and metrics, however spelled, get the gateway's 404, never proxied."""
    answer = edge.request("GET", path)
    assert answer.status == 404
    assert "x-served-by" not in answer.headers


def test_large_answers_from_web_are_gzipped(edge):
    """A large JSON answer is compressed by the gateway for a client that accepts gzip."""
    answer = edge.request("GET", "/big", {"Accept-Encoding": "gzip"})
    assert answer.headers.get("content-encoding") == "gzip"
    assert b"lorem" in gzip.decompress(answer.body)


def test_host_goes_upstream_with_its_port(edge):
    """Django's CSRF origin check needs the Host the browser used, port included."""
    echo = edge.request("GET", "/").json()
    assert echo["headers"]["host"] == f"{edge.ip}:8080"


def test_upstream_connections_are_kept_alive(edge):
    """The gateway sends no Connection: close upstream, so its keepalive pool is used."""
    echo = edge.request("GET", "/").json()
    assert echo["headers"].get("connection", "") != "close"
