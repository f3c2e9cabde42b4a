"""/static/ through the gateway to the real static service (services/static/nginx.conf), in
front of a small collectstatic output (static_files.py)."""

import gzip

import pytest
from static_files import CSS, HASHED, PLAIN


def test_hashed_file_is_served_from_static(edge_with_static):
    answer = edge_with_static.request("GET", f"/static/{HASHED}")
    assert (answer.status, answer.body.decode()) == (200, CSS)


def test_hashed_file_is_cached_for_a_year(edge_with_static):
    """A hashed name never changes content: immutable, one year."""
    answer = edge_with_static.request("GET", f"/static/{HASHED}")
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_unhashed_file_is_cached_briefly(edge_with_static):
    """An unhashed name may change at the next release: one minute."""
    answer = edge_with_static.request("GET", f"/static/{PLAIN}")
    assert answer.headers["cache-control"] == "public, max-age=60"


def test_precompressed_file_is_not_compressed_twice(edge_with_static):
    """static sends its .gz copy; the gateway passes it on as is (one gunzip gives the CSS)."""
    answer = edge_with_static.request("GET", f"/static/{HASHED}", {"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert gzip.decompress(answer.body).decode() == CSS


@pytest.mark.parametrize(
    "path",
    ["/static/staticfiles.json", "/static/admin/", "/static/css/none.css"],
    ids=["the manifest", "a directory listing", "a missing file"],
)
def test_not_served(edge_with_static, path):
    assert edge_with_static.request("GET", path).status == 404
