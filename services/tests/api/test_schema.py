"""The OpenAPI schema (/api/schema/) documents the domain errors each operation can answer, with
the status the api gives them (tests/test_error_answers.py holds the api to those statuses)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _responses(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][path][method]["responses"]


def test_the_download_documents_its_404_and_the_not_ready_409(schema):
    responses = _responses(schema, "/api/exports/{export_id}/download/", "get")

    assert set(responses) == {"200", "404", "409"}
    assert "text/csv" in responses["200"]["content"]
    assert "`export_not_ready`" in responses["409"]["description"]
    assert "`not_found`" in responses["404"]["description"]
    for status in ("404", "409"):
        body = responses[status]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/DomainErrorOutput"}
    error_body = schema["components"]["schemas"]["DomainErrorOutput"]
    assert set(error_body["properties"]) == {"detail", "code"}


@pytest.mark.parametrize(
    ("path", "method", "codes_by_status"),
    [
        ("/api/polls/", "post", {"400": ["invalid"]}),
        ("/api/polls/{poll_id}/", "get", {"404": ["not_found"]}),
        (
            "/api/polls/{poll_id}/vote/",
            "post",
            {"404": ["not_found"], "409": ["poll_closed", "already_voted"], "400": ["choice_not_in_poll"]},
        ),
        ("/api/polls/{poll_id}/results/", "get", {"404": ["not_found"]}),
        ("/api/exports/", "post", {"404": ["not_found"], "429": ["export_limit_reached"]}),
        ("/api/exports/{export_id}/", "get", {"404": ["not_found"]}),
    ],
)
def test_each_operation_documents_the_domain_errors_it_can_answer(schema, path, method, codes_by_status):
    responses = _responses(schema, path, method)
    for status, codes in codes_by_status.items():
        assert status in responses, f"{method} {path} does not document its {status}"
        for code in codes:
            assert f"`{code}`" in responses[status]["description"]


def test_the_export_limit_documents_retry_after(schema):
    assert "Retry-After" in _responses(schema, "/api/exports/", "post")["429"]["description"]
