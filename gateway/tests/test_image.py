"""The gateway container itself: who it runs as, what its template renders to, its healthcheck."""

import time

from gatewaylab import docker


def test_runs_as_the_nginx_user(edge):
    assert docker("exec", edge.name, "id", "-u") == "101"


def test_template_renders_resolving_upstreams_and_the_compose_resolver(edge):
    """Upstream names are re-resolved (scale out/in without a reload), with compose's DNS server."""
    conf = docker("exec", edge.name, "cat", "/tmp/gateway.conf")
    assert "server web:8000 resolve" in conf
    assert "resolver 127.0.0.11 valid=5s ipv6=off" in conf


def test_image_healthcheck_reports_healthy(edge):
    """The image's HEALTHCHECK (curl /healthz, every 10 s) works in the hardened container."""
    deadline = time.monotonic() + 30
    while (status := edge.state().get("Health", {}).get("Status")) == "starting" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == "healthy"
