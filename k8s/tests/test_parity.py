"""Compose and Kubernetes run each service the same way: a change made to one and not the
other fails here. Compose is where behaviour is tested, so the cluster must not drift from it."""

import re

import pytest
import yaml
from conftest import REPO, by_kind_name, pod_spec

SERVICES = ("gateway", "web", "api", "worker", "beat", "static", "migrate")
# Which Dockerfile builds each image (the build target is the image's last name part).
DOCKERFILES = {"gateway": REPO / "gateway" / "Dockerfile", "default": REPO / "services" / "Dockerfile"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]


def k8s_container(objects, service):
    kind = "Job" if service == "migrate" else "Deployment"
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].split("-")[0] == service]
    assert len(matches) == 1, service
    return matches[0], pod_spec(matches[0])["containers"][0]


def _stage(image_name: str) -> str:
    """Return the text of the Dockerfile stage that builds the image."""
    target = image_name.rsplit("/", 1)[1]
    text = DOCKERFILES.get(target, DOCKERFILES["default"]).read_text()
    if target != "gateway":
        text = re.split(rf"^FROM \S+ AS {target}$", text, flags=re.M)[1].split("\nFROM ")[0]
    return text


def image_user(image_name: str) -> int:
    """Return the uid the image's Dockerfile stage ends with (USER uid:gid)."""
    return int(re.findall(r"^USER (\d+)", _stage(image_name), flags=re.M)[-1])


def image_port(image_name: str) -> int:
    """Return the PORT the image's Dockerfile stage sets (gunicorn binds to it)."""
    return int(re.findall(r"^ENV .*\bPORT=(\d+)", _stage(image_name), flags=re.M)[-1])


@pytest.mark.parametrize("service", SERVICES)
def test_same_image(local, compose, service):
    spec = compose[service]
    _, c = k8s_container(local, service)
    name = spec["image"].split(":")[0]
    assert c["image"].rsplit(":", 1)[0] == name
    target = spec["build"].get("target", "gateway")
    assert name == f"polls/{target}"


@pytest.mark.parametrize("service", SERVICES)
def test_same_command(local, compose, service):
    _, c = k8s_container(local, service)
    assert c.get("command") == compose[service].get("command")
    assert "args" not in c


@pytest.mark.parametrize("service", SERVICES)
def test_same_health_checks_and_ports(local, compose, service):
    _, c = k8s_container(local, service)
    check = compose[service].get("healthcheck")
    if check is None:
        assert service == "migrate" and "readinessProbe" not in c
        return
    test = check["test"]
    # An HTTP check on the replica's own port: a URL (Python, curl) or a request written to bash's
    # /dev/tcp (web and api: cheap to start inside a small CPU quota).
    command = " ".join(test)
    url = re.search(r"http://127\.0\.0\.1:(\d+|\{[^}]*PORT[^}]*\})(/\w+)", command) or re.search(
        r"/dev/tcp/127\.0\.0\.1/(\d+|\$+\{?PORT\}?) .*?'GET (/\w+) ", command
    )
    if url:
        # The compose check may read the port from the image's PORT, as gunicorn does.
        port = int(url.group(1)) if url.group(1).isdigit() else image_port(c["image"].rsplit(":", 1)[0])
        path = url.group(2)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports[c["readinessProbe"]["httpGet"]["port"]] == port
        assert c["readinessProbe"]["httpGet"]["path"] == path
        assert [p["containerPort"] for p in c["ports"]] == [port]
    else:
        assert test[0] == "CMD"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert c[probe]["exec"]["command"] == test[1:]
        assert "ports" not in c


@pytest.mark.parametrize("service", SERVICES)
def test_same_environment(local, compose, service):
    """Django services read config.env + secrets.env in compose and polls-config +
    polls-secrets in Kubernetes; the gateway sets only its documented variables."""
    _, c = k8s_container(local, service)
    env_files = compose[service].get("env_file", [])
    env_from = c.get("envFrom", [])
    if env_files:
        assert env_files == ["config.env", "secrets.env"]
        (config_map,) = [
            o for o in local if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("polls-config")
        ]
        # The generated name carries the content hash (polls-config-<hash>), so a config change
        # rolls every pod that reads it.
        assert re.fullmatch(r"polls-config-[a-z0-9]{10}", config_map["metadata"]["name"])
        assert env_from == [
            {"configMapRef": {"name": config_map["metadata"]["name"]}},
            {"secretRef": {"name": "polls-secrets"}},
        ]
        assert "env" not in c
    else:
        assert not env_from
        documented = set(re.findall(r"^\| `([A-Z_]+)` \|", (REPO / "gateway" / "README.md").read_text(), flags=re.M))
        assert {e["name"] for e in c.get("env", [])} <= documented
    assert "environment" not in compose[service], "compose values belong in config.env"


@pytest.mark.parametrize("service", SERVICES)
def test_same_user_and_hardening(local, compose, service):
    obj, c = k8s_container(local, service)
    spec = compose[service]
    assert spec.get("user") is None, "the image's USER is the one contract"
    assert c["securityContext"]["runAsUser"] == image_user(c["image"].rsplit(":", 1)[0])
    assert spec["read_only"] is True and c["securityContext"]["readOnlyRootFilesystem"] is True
    # The gateway's /tmp carries a size (gateway/tests holds it equal to the emptyDir's).
    assert [t.split(":")[0] for t in spec["tmpfs"]] == ["/tmp"]
    assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}
    assert spec["cap_drop"] == ["ALL"] and c["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_grace_periods_cover_compose_ones(local, compose):
    """Kubernetes gives each service at least compose's stop_grace_period after its preStop."""
    for service in ("web", "api", "worker"):
        obj, c = k8s_container(local, service)
        compose_grace = compose[service]["stop_grace_period"]
        seconds = int(compose_grace[:-1]) * (60 if compose_grace.endswith("m") else 1)
        pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
        wait = int(pre_stop[1]) if pre_stop else 0
        assert pod_spec(obj)["terminationGracePeriodSeconds"] - wait >= seconds, service


def test_every_compose_service_exists_in_kubernetes(local, compose):
    """No service is added to one and forgotten in the other."""
    k8s_names = {
        o["metadata"]["name"].split("-")[0] for o in local if o["kind"] in ("Deployment", "StatefulSet", "Job")
    }
    assert set(compose) == k8s_names
    for service in ("gateway", "web", "api", "static"):
        assert by_kind_name(local, "Service", service)
