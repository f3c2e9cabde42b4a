"""The gateway's settings: bad values stop the start, and the deployments agree on its bounds."""

import itertools
import re

import pytest
import yaml
from gatewaylab import GATEWAY, REPO, ComposeLimits, to_bytes

_numbers = itertools.count(1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_TRUSTED_PROXIES", "10.0.0.300/8"),
        ("GATEWAY_TRUSTED_PROXIES", "the ingress"),
        ("GATEWAY_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("GATEWAY_ADMIN_ALLOW", ""),
        ("GATEWAY_ADMIN_ALLOW", "10.0.0.0/8;allow all"),
        ("GATEWAY_LOGIN_RATE", "10/m"),
        ("GATEWAY_LOGIN_RATE", "0r/s"),
        ("GATEWAY_LOGIN_BURST", "-1"),
        ("GATEWAY_CONNECTIONS_PER_CLIENT", "many"),
        ("GATEWAY_CONNECTIONS_PER_CLIENT", "0"),
    ],
)
def test_invalid_value_stops_the_start_naming_the_variable(lab, name, value):
    """A value nginx would misread, or that would turn a limit off, stops the container."""
    code, output = lab.start_failing(f"bad-{next(_numbers)}", {name: value})
    assert code != 0
    assert f"gateway: {name}:" in output or f"gateway: {name} " in output


def test_lists_take_commas_spaces_and_ipv6(lab):
    """CIDR lists may be written with commas or spaces, IPv6 included."""
    gateway = lab.start_gateway(
        "lists",
        {"GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.1 fd00::/8", "GATEWAY_ADMIN_ALLOW": "0.0.0.0/0, ::/0"},
    )
    assert gateway.request("GET", "/admin/").status == 200
    lab.remove(gateway)


def test_compose_and_kubernetes_give_the_gateway_the_same_bounds():
    """The memory limit and the /tmp size are the same in both, and /tmp is memory in both."""
    compose = ComposeLimits.read()
    k8s = list(yaml.safe_load_all((REPO / "k8s" / "base" / "gateway.yaml").read_text()))
    pod = next(o for o in k8s if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (tmp,) = [v for v in pod["volumes"] if v["name"] == "tmp"]
    assert to_bytes(compose.memory) == to_bytes(container["resources"]["limits"]["memory"])
    path, _, options = compose.tmpfs.partition(":")
    assert path == "/tmp"
    assert to_bytes(dict(o.split("=") for o in options.split(","))["size"]) == to_bytes(tmp["emptyDir"]["sizeLimit"])
    assert tmp["emptyDir"]["medium"] == "Memory"


@pytest.mark.parametrize("conf", [GATEWAY / "nginx.conf", REPO / "services" / "static" / "nginx.conf"])
def test_worker_processes_are_fixed(conf):
    """nginx's `auto` counts the node's CPUs, not the container's limit: a fixed number."""
    (value,) = re.findall(r"^worker_processes\s+(\S+);", conf.read_text(), flags=re.M)
    assert value.isdigit()
