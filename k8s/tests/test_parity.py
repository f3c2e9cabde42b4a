"""Compose and Kubernetes run each service the same way: a change made to one and not the
other fails here. Compose is where behaviour is tested, so the cluster must not drift from it."""

import re

import pytest
import yaml
from conftest import REPO, by_kind_name, pod_spec, read_env_file

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


# Every container of both overlays, init containers included (issue 12, item 5).
OVERLAY_NAMES = ("local", "production")
# Where Kubernetes differs from compose on purpose, and why (one line each).
PERIOD_EXCEPTIONS = {
    "worker": "the heartbeat check starts Python in the pod (~45 ms CPU): every 15 s, and a worker takes no traffic",
    "beat": "the heartbeat check starts Python in the pod (~45 ms CPU): every 15 s, and beat takes no traffic",
}
ORDER_EXCEPTIONS = {
    "gateway": "nginx resolves web/api/static per request: until they are ready it answers 503, it does not fail",
    "beat": "beat only publishes schedules to Redis and reads no table, so it need not wait for migrations",
}


@pytest.fixture(scope="module", params=OVERLAY_NAMES)
def overlay(request, local, production):
    return {"local": local, "production": production}[request.param]


def all_containers(objects, service):
    obj, _ = k8s_container(objects, service)
    spec = pod_spec(obj)
    return obj, spec.get("initContainers", []) + spec["containers"]


def seconds(duration: str) -> int:
    return int(duration[:-1]) * (60 if duration.endswith("m") else 1)


@pytest.mark.parametrize("service", SERVICES)
def test_every_container_runs_the_compose_image_user_and_hardening(overlay, compose, service):
    """Init containers too: compose's image, the image's USER uid:gid, a read-only root whose only
    writable path is compose's tmpfs, no capabilities, compose's env file names."""
    obj, containers = all_containers(overlay, service)
    spec = compose[service]
    image = spec["image"].split(":")[0]
    (user,) = set(re.findall(r"^USER (\d+):(\d+)", _stage(image), flags=re.M))
    volumes = {v["name"]: v for v in pod_spec(obj)["volumes"]}
    for c in containers:
        assert c["image"].rsplit(":", 1)[0].rsplit("@", 1)[0].endswith(image), c["name"]
        security = c["securityContext"]
        assert (str(security["runAsUser"]), str(security["runAsGroup"])) == user, c["name"]
        assert str(pod_spec(obj)["securityContext"]["fsGroup"]) == user[1]
        assert security["readOnlyRootFilesystem"] is True and spec["read_only"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        writable = {m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
        assert writable == {t.split(":")[0] for t in spec["tmpfs"]}, c["name"]
        assert all("emptyDir" in volumes[m["name"]] for m in c["volumeMounts"] if m["mountPath"] in writable)
        if spec.get("env_file"):
            config_map = next(e["configMapRef"]["name"] for e in c["envFrom"] if "configMapRef" in e)
            assert [e.get("secretRef", {}).get("name") for e in c["envFrom"]][1:] == ["polls-secrets"]
            config = next(o for o in overlay if o["kind"] == "ConfigMap" and o["metadata"]["name"] == config_map)
            # The names, not the values: an overlay may change a value, never add or drop a variable.
            assert set(config["data"]) == set(read_env_file(REPO / "config.env")), c["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_probe_timings_follow_the_compose_healthcheck(overlay, compose, service):
    """The kubelet checks as often as compose's healthcheck (or the exception says why), never waits
    longer for an answer, and gives a start at least compose's start_period."""
    check = compose[service].get("healthcheck")
    _, c = k8s_container(overlay, service)
    if check is None:
        assert not any(p in c for p in ("startupProbe", "livenessProbe", "readinessProbe"))
        return
    ready = c["readinessProbe"]
    if service in PERIOD_EXCEPTIONS:
        assert ready["periodSeconds"] > seconds(check["interval"]), PERIOD_EXCEPTIONS[service]
    else:
        assert ready["periodSeconds"] == seconds(check["interval"])
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["timeoutSeconds"] <= seconds(check["timeout"]), probe
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= seconds(check.get("start_period", "0s"))


@pytest.mark.parametrize("service", SERVICES)
def test_startup_order_follows_depends_on(overlay, compose, service):
    """compose's `depends_on: migrate` is an init container waiting for this release's migrations;
    `postgres: service_healthy` alone (migrate) is one waiting for the database only."""
    obj, _ = k8s_container(overlay, service)
    waits = [c["command"] for c in pod_spec(obj).get("initContainers", [])]
    depends = compose[service].get("depends_on", {})
    if service in ORDER_EXCEPTIONS:
        assert depends and not waits, ORDER_EXCEPTIONS[service]
    elif "migrate" in depends:
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert [w[:3] for w in waits] == [["python", "manage.py", "wait_for_migrations"]]
        assert "--database-only" not in waits[0]
    elif "postgres" in depends:
        assert [w[:4] for w in waits] == [["python", "manage.py", "wait_for_migrations", "--database-only"]]
    else:
        assert not depends and not waits
