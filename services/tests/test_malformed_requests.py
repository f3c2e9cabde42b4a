"""Requests no client should send: unknown methods get 405 everywhere and a bounded metrics label."""

import pytest
from django.test import Client

from runtime import metrics


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/", "/api/polls/", "/api/auth/token/"])
@pytest.mark.parametrize("method", ["BREW", "TRACE", "PROPFIND", "X" * 40])
def test_an_unknown_method_gets_405_on_every_route(path, method):
    response = Client().generic(method, path)

    assert response.status_code == 405
    assert "GET" in response["Allow"]


def _count(method: str) -> float:
    return sum(
        sample.value
        for metric in metrics.REQUESTS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["method"] == method
    )


@pytest.mark.django_db
def test_unknown_methods_share_one_metrics_label():
    """Every invented method would otherwise be a new series in /metrics."""
    before = _count("OTHER")

    for n in range(5):
        Client().generic(f"M{n}ETHOD", "/")
    Client().get("/")

    assert _count("OTHER") == before + 5
    assert [_count(f"M{n}ETHOD") for n in range(5)] == [0] * 5
    exposition = Client().get("/metrics").content.decode()
    assert 'method="OTHER"' in exposition and "M0ETHOD" not in exposition
