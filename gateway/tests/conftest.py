"""Fixtures: the gateway image built from this tree, a lab network to run it on, and gateways.

GATEWAY_IMAGE=<tag> tests an existing image instead of building one (e.g. an older release,
to see a test fail without the feature it covers).
"""

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import static_files
from gatewaylab import Lab, build_gateway_image, docker


@pytest.fixture(scope="session")
def gateway_image():
    """Return the image under test: GATEWAY_IMAGE, or gateway/ built for this run."""
    if os.environ.get("GATEWAY_IMAGE"):
        yield os.environ["GATEWAY_IMAGE"]
        return
    tag = build_gateway_image(f"polls/gateway:gwtest-{uuid.uuid4().hex[:8]}")
    yield tag
    docker("rmi", "-f", tag, check=False)


@pytest.fixture(scope="session")
def lab(gateway_image):
    """Return a lab: its own network, fake web/api/static, a second client container."""
    lab = Lab(gateway_image)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="session")
def edge(lab):
    """Return a gateway with the image's defaults: the edge of compose, production limits.

    Shared by the whole run: tests that change what it counts (held connections) give it back,
    and tests that read its log look for their own requests only."""
    return lab.start_gateway("edge")


@pytest.fixture(scope="session")
def edge_with_static(lab):
    """Return a gateway with the image's defaults in front of the real static service, which
    serves static_files' collectstatic output."""
    root = Path(tempfile.mkdtemp(prefix="gwtest-static-"))
    try:
        static_files.write(root / "static")
        lab.start_static("static", "real-static", root / "static")
        yield lab.start_gateway(
            "edge-static", {"STATIC_UPSTREAM": "real-static:8080"}, ready_path=f"/static/{static_files.PLAIN}"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
