"""Fixtures: the gateway image built from this tree and a lab network to run it on.

GATEWAY_IMAGE=<tag> tests an existing image instead of building one (e.g. an older release,
to see a test fail without the feature it covers).
"""

import os
import uuid

import pytest

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


@pytest.fixture(scope="module")
def edge(lab, request):
    """Return a gateway with the image's defaults: the edge of compose, production limits."""
    return lab.start_gateway(f"edge-{request.module.__name__.removeprefix('test_')}")
