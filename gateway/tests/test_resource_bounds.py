"""What one client, or many, can hold of the gateway.

Connections per client, the admin allow-list, header sizes, and the memory of hundreds of
slow uploads, each against the image's production defaults unless the test says otherwise.
"""

import asyncio
import time

import pytest
from gatewaylab import ComposeLimits, to_bytes
from slow_uploads import flood, open_upload

CONNECTIONS_PER_CLIENT = 20  # the image's GATEWAY_CONNECTIONS_PER_CLIENT


async def _hold_and_probe(gateway, held: int, probe):
    """Hold `held` uploads open from the host, then return what `probe(gateway)` got."""
    uploads = [await open_upload(gateway.ip, f"/api/uploads/?held={n}", 4096, {}) for n in range(held)]
    await asyncio.sleep(0.5)  # nginx counts a request once its headers are read
    try:
        return await asyncio.to_thread(probe, gateway)
    finally:
        for _, writer in uploads:
            writer.close()


def test_connections_past_the_limit_of_one_client_get_429(edge):
    """One client's request past its 20 in progress gets a short 429 with Retry-After."""
    answer = asyncio.run(
        _hold_and_probe(edge, CONNECTIONS_PER_CLIENT, lambda gateway: gateway.request("GET", "/polls/"))
    )
    assert answer.status == 429
    assert answer.headers["retry-after"] == "1"
    assert answer.body == b"too many requests in progress from this address: retry when one has finished\n"


def test_another_client_is_served_while_one_is_at_its_limit(edge):
    """Holding 20 requests open costs the holder, not the others."""
    answer = asyncio.run(
        _hold_and_probe(edge, CONNECTIONS_PER_CLIENT, lambda gateway: gateway.request_from_client("GET", "/polls/"))
    )
    assert answer.status == 200


def test_limit_counts_requests_in_progress_not_past_ones(edge):
    """Below the limit, and once held requests end, the same client is served again."""
    answer = asyncio.run(
        _hold_and_probe(edge, CONNECTIONS_PER_CLIENT - 1, lambda gateway: gateway.request("GET", "/polls/"))
    )
    assert answer.status == 200
    deadline = time.monotonic() + 5
    while edge.request("GET", "/polls/").status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert edge.request("GET", "/polls/").status == 200


@pytest.fixture(scope="module")
def admin_for_client(lab):
    """Return a gateway whose admin is open to the lab's client container only."""
    return lab.start_gateway("admin-allow", {"GATEWAY_ADMIN_ALLOW": f"{lab.client_ip}/32"})


def test_admin_outside_the_allow_list_gets_403(admin_for_client):
    """The host is not on the list: every /admin/ path answers a short 403, the rest passes."""
    for path in ["/admin/", "/admin/login/?next=/admin/", "/admin/domain/poll/", "//admin/"]:
        answer = admin_for_client.request("GET", path)
        assert answer.status == 403, path
        assert answer.body == b"forbidden: this address may not use this path\n"
    assert admin_for_client.request("POST", "/admin/login/", body=b"u=a").status == 403
    assert admin_for_client.request("GET", "/polls/").status == 200


def test_admin_inside_the_allow_list_is_served(admin_for_client):
    """The client container is on the list."""
    assert admin_for_client.request_from_client("GET", "/admin/").status == 200


def test_forged_forwarded_for_does_not_open_the_admin(admin_for_client, lab):
    """Claiming an allowed address in X-Forwarded-For does not help at the edge."""
    answer = admin_for_client.request("GET", "/admin/", {"X-Forwarded-For": lab.client_ip})
    assert answer.status == 403


def test_admin_is_open_by_default(edge):
    """The image's default admits everyone (compose); production narrows it."""
    assert edge.request("GET", "/admin/").status == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Big": "a" * 9000}, id="one 9 KiB header"),
        pytest.param({"Cookie": "c=" + "b" * 20000}, id="20 KiB cookie"),
        pytest.param([(f"X-H{i}", "v" * 1000) for i in range(40)], id="40 headers of 1 KiB"),
        pytest.param([(f"X-{i}", "v") for i in range(5000)], id="5000 small headers"),
    ],
)
def test_oversized_or_too_many_headers_get_431(edge, headers):
    """Headers past 8 KiB a line or 32 KiB in all: a short 431 from the gateway, never a 5xx."""
    answer = edge.request("GET", "/polls/", headers)
    assert answer.status == 431
    assert answer.body == b"request headers too large: 8 KiB per line, 32 KiB in all\n"


def test_huge_request_line_gets_414(edge):
    """A URL longer than a header buffer: 414, never a 5xx."""
    assert edge.request("GET", "/polls/?q=" + "a" * 9000).status == 414


def test_small_headers_still_pass(edge):
    """Ordinary large headers (a 4 KiB cookie, 30 headers) reach the upstream."""
    headers = [("Cookie", "c=" + "d" * 4000)] + [(f"X-{i}", "v" * 100) for i in range(30)]
    assert edge.request("GET", "/polls/", headers).status == 200


def upload_2_mib(gateway):
    return gateway.request(
        "POST", "/api/upload", {"Content-Type": "application/octet-stream"}, body=bytes(2 * 1024 * 1024)
    )


def test_body_over_1_mib_gets_413(edge):
    """A 2 MiB upload is refused by the gateway before it reaches a worker."""
    assert upload_2_mib(edge).status == 413


def test_413_is_a_short_text(edge):
    """The refusal is one line of text, not nginx's HTML page."""
    assert upload_2_mib(edge).body == b"request body too large: the limit is 1 MiB\n"


def test_body_under_1_mib_passes(edge):
    answer = edge.request("POST", "/api/upload", body=bytes(900_000))
    assert answer.status == 200 and answer.json()["body_length"] == 900_000


def test_hundreds_of_slow_uploads_stay_within_the_memory_limit(lab):
    """300 concurrent uploads of almost 1 MiB, each trickled 16 KiB every 0.25 s from its own
    address, leave the gateway (compose's memory limit and /tmp size) below its memory limit,
    never killed, and answering another client every time. Each upload gets the upstream's
    200 or, once the temp area is full, the gateway's short 503; afterwards the temp area is
    empty again and an upload of the same size goes through."""
    limits = ComposeLimits.read()
    gateway = lab.start_gateway(
        "uploads", {"GATEWAY_TRUSTED_PROXIES": lab.host_ip}, memory=limits.memory, tmpfs=limits.tmpfs
    )
    before = gateway.memory()

    report = flood(gateway, uploads=300, length=960 * 1024, piece=16 * 1024, pause=0.25, seconds=60)

    after = gateway.memory()
    state = gateway.state()
    limit = to_bytes(limits.memory)
    print(
        f"\nslow uploads: {report.seconds:.1f} s, answers {report.upload_statuses}, "
        f"memory before {before['usage'] / 2**20:.1f} MiB, peak {after['peak'] / 2**20:.1f} MiB "
        f"of {limit / 2**20:.0f} MiB, failcnt {after['failcnt']}, other client "
        f"{len(report.other_statuses)} requests, slowest {report.other_slowest_s:.2f} s"
    )
    assert after["limit"] == limit
    assert not state["OOMKilled"] and state["Running"]
    assert "exited on signal" not in gateway.logs()
    assert after["failcnt"] == 0 and after["peak"] < limit
    assert report.other_statuses and set(report.other_statuses) == {200}
    assert report.other_slowest_s < 5
    assert set(report.upload_statuses) <= {200, 503}
    assert gateway.temp_bytes() < 1024 * 1024
    after_flood = gateway.request("POST", "/api/uploads/", body=b"x" * 960 * 1024)
    assert after_flood.status == 200 and after_flood.json()["body_length"] == 960 * 1024
    lab.remove(gateway)
