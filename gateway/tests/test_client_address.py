"""The client address the gateway sends upstream.

Contract with Django (runtime/client_address.py): X-Forwarded-For's right-most entry is the
client address; the gateway sends exactly one entry, the address realip settled on.
"""

import json

import pytest


@pytest.fixture(scope="module")
def behind_proxy(lab):
    """Return a gateway that trusts only the lab's client container, as if it were an Ingress."""
    return lab.start_gateway("behind-proxy", {"GATEWAY_TRUSTED_PROXIES": f"10.99.0.0/16, {lab.client_ip}/32"})


@pytest.mark.parametrize("forged", ["6.6.6.6", "203.0.113.7, 6.6.6.6", "::1", "garbage"])
def test_forged_forwarded_for_at_the_edge_is_replaced_by_the_peer(edge, lab, forged):
    """At the edge a client's X-Forwarded-For, whatever it says, is replaced by its own address."""
    echo = edge.request("GET", "/polls/", {"X-Forwarded-For": forged}).json()
    assert echo["headers"]["x-forwarded-for"] == lab.host_ip


def test_forwarded_proto_at_the_edge_is_the_gateways_own(edge):
    """A client cannot make Django believe a plain-HTTP request was HTTPS."""
    echo = edge.request("GET", "/", {"X-Forwarded-Proto": "https"}).json()
    assert echo["headers"]["x-forwarded-proto"] == "http"


def test_trusted_proxy_gives_the_real_client_address(behind_proxy):
    """From a trusted proxy, the right-most untrusted X-Forwarded-For entry is the client, alone."""
    echo = json.loads(
        behind_proxy.request_from_client(
            "GET", "/api/polls/", {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https"}
        ).body
    )
    assert echo["headers"]["x-forwarded-for"] == "203.0.113.7"
    assert echo["headers"]["x-forwarded-proto"] == "https"


def test_trusted_proxy_without_forwarded_for_is_the_client(behind_proxy, lab):
    """A trusted proxy that names no client is taken as the client itself."""
    echo = json.loads(behind_proxy.request_from_client("GET", "/polls/").body)
    assert echo["headers"]["x-forwarded-for"] == lab.client_ip


def test_untrusted_peer_of_a_gateway_with_proxies_cannot_forge(behind_proxy, lab):
    """Trusting some proxies trusts nobody else: the host is not in the list."""
    echo = behind_proxy.request(
        "GET", "/polls/", {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    ).json()
    assert echo["headers"]["x-forwarded-for"] == lab.host_ip
    assert echo["headers"]["x-forwarded-proto"] == "http"


def test_access_log_has_the_client_and_the_peer(behind_proxy, lab):
    """The JSON access log shows the client address and the proxy it came through."""
    behind_proxy.request_from_client("GET", "/polls/?logged=1", {"X-Forwarded-For": "198.51.100.9"})
    (line,) = behind_proxy.wait_for_log(lambda line: "logged=1" in line["uri"])
    assert line["remote_addr"] == "198.51.100.9"
    assert line["peer_addr"] == lab.client_ip


def test_trusted_proxy_cannot_send_another_scheme(behind_proxy):
    """Even from a trusted proxy only http/https are believed; anything else is the gateway's own."""
    echo = json.loads(behind_proxy.request_from_client("GET", "/", {"X-Forwarded-Proto": "javascript:"}).body)
    assert echo["headers"]["x-forwarded-proto"] == "http"
