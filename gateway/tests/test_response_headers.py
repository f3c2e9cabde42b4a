"""What the gateway adds to every answer, its own and the services' (gateway/README.md, Headers)."""

import pytest
import static_files


def test_replica_name_is_passed_through(edge):
    """X-Served-By, the replica that answered, reaches the client untouched."""
    answer = edge.request("GET", "/")
    assert answer.headers["x-served-by"] == answer.json()["host"] == "upstream"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/",
        f"/static/{static_files.PLAIN}",
        "/healthz",
        "/metrics",
        "/static/css/none.css",
    ],
)
def test_security_headers_on_every_answer(edge_with_static, path):
    """Pages, the api, static files, the gateway's own answers and 404s: each security header
    once, nosniff, no HSTS (the gateway speaks plain HTTP), no nginx version."""
    answer = edge_with_static.request("GET", path)
    for name in ["X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]:
        assert answer.count(name) == 1, name
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in answer.headers
    assert not answer.headers.get("server", "").startswith("nginx/")
