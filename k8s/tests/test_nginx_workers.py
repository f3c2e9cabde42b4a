"""nginx's worker count follows the container's CPU limit, in every render and compose file.

nginx's `auto` counts the node's CPUs, not the container's limit (64 workers in a 1-CPU pod on a
64-core node), so gateway and static name the count. The rule: one worker per CPU of the limit,
rounded up, plus one spare that keeps answering while another waits on a temp-file write or a
file read (gateway/README.md, "Limits"). A limit raised to 2 CPUs then fails here until the
config says 3, and a limit without a matching count cannot slip through.
"""

import math
import re

import pytest
import yaml
from conftest import REPO, pod_spec

NGINX_CONFIGS = {"gateway": REPO / "gateway" / "nginx.conf", "static": REPO / "services" / "static" / "nginx.conf"}
# Every compose file that may set a CPU limit for them: the stack, and the bench stacks' quotas.
COMPOSE_FILES = (REPO / "docker-compose.yml", REPO / "loadtest" / "compose" / "bench.yml")


def worker_processes(service: str) -> int:
    (value,) = re.findall(r"^worker_processes\s+(\S+);", NGINX_CONFIGS[service].read_text(), flags=re.M)
    assert value.isdigit(), f"{service}: worker_processes {value} is not a fixed number"
    return int(value)


def workers_for(cpus: float) -> int:
    return math.ceil(cpus) + 1


def cpus(quantity) -> float:
    """Return a Kubernetes CPU quantity ("500m", "1", 1) or a compose `cpus` value in CPUs."""
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


@pytest.mark.parametrize("service", sorted(NGINX_CONFIGS))
def test_worker_count_matches_the_kubernetes_cpu_limit(all_renders, service):
    checked = 0
    for name, objects in all_renders.items():
        for obj in objects:
            if obj["kind"] == "Deployment" and obj["metadata"]["name"] == service:
                (container,) = [c for c in pod_spec(obj)["containers"] if c["name"] == service]
                limit = cpus(container["resources"]["limits"]["cpu"])
                assert worker_processes(service) == workers_for(limit), (
                    f"{name}: {service} has a CPU limit of {limit} and {worker_processes(service)} nginx workers"
                )
                checked += 1
    assert checked == len(all_renders)


@pytest.mark.parametrize("service", sorted(NGINX_CONFIGS))
@pytest.mark.parametrize("compose_file", COMPOSE_FILES, ids=lambda p: p.name)
def test_worker_count_matches_the_compose_cpu_limit(service, compose_file):
    spec = yaml.safe_load(compose_file.read_text())["services"].get(service, {})
    limit = spec.get("cpus") or spec.get("deploy", {}).get("resources", {}).get("limits", {}).get("cpus")
    if limit is None:
        pytest.skip(f"{compose_file.name} sets no CPU limit for {service}")
    assert worker_processes(service) == workers_for(cpus(limit)), f"{compose_file.name}: {service} cpus {limit}"
