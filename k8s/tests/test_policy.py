"""Policies every rendered manifest must keep: probes, resources, hardening, pinned images,
safe rollouts and shutdowns, disruption budgets, singletons, migrations (network isolation:
test_network_policies.py)."""

import pytest
from conftest import (
    K8S,
    MIGRATION_GATED,
    REPO,
    by_kind_name,
    migrate_job,
    pod_spec,
    polls_config,
    read_env_file,
    workloads,
)

STATELESS = ("gateway", "web", "api", "static", "worker")


def containers(obj):
    return pod_spec(obj)["containers"]


def all_containers(obj):
    spec = pod_spec(obj)
    return spec.get("initContainers", []) + spec["containers"]


@pytest.fixture(scope="module")
def renders(all_renders):
    return all_renders


def test_every_long_running_container_has_three_probes(renders):
    """Startup, liveness and readiness on every container that serves or works (init containers
    and the run-to-completion migrate Job are judged by their exit code instead)."""
    for name, objects in renders.items():
        for obj in workloads(objects):
            if obj["kind"] in ("Job", "CronJob"):
                continue
            for c in containers(obj):
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    assert probe in c, f"{name}: {obj['metadata']['name']}/{c['name']} lacks {probe}"


def test_probes_use_the_endpoints_the_services_define(production):
    """web/api: /healthz live, /readyz ready on 8000 (web) and 8001 (api); gateway/static: /healthz on 8080;
    worker/beat: the heartbeat command."""
    expected = {
        "web": ("/healthz", "/readyz", 8000),
        "api": ("/healthz", "/readyz", 8001),
        "gateway": ("/healthz", "/healthz", 8080),
        "static": ("/healthz", "/healthz", 8080),
    }
    for name, (live, ready, port) in expected.items():
        c = containers(by_kind_name(production, "Deployment", name))[0]
        assert c["livenessProbe"]["httpGet"]["path"] == live
        assert c["startupProbe"]["httpGet"]["path"] == live
        assert c["readinessProbe"]["httpGet"]["path"] == ready
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports[c["readinessProbe"]["httpGet"]["port"]] == port
    for name in ("worker", "beat"):
        c = containers(by_kind_name(production, "Deployment", name))[0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert c[probe]["exec"]["command"] == ["python", "-m", "worker.heartbeat"]


def test_every_container_has_requests_and_limits(renders):
    for name, objects in renders.items():
        for obj in workloads(objects):
            for c in all_containers(obj):
                res = c.get("resources", {})
                for kind in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(res.get(kind, {})), (
                        f"{name}: {obj['metadata']['name']}/{c['name']} lacks {kind}"
                    )


def test_every_pod_meets_pod_security_restricted(renders):
    """runAsNonRoot, read-only root with a writable /tmp, no capabilities, RuntimeDefault
    seccomp, no privilege escalation, no service account token."""
    for name, objects in renders.items():
        for obj in workloads(objects):
            spec = pod_spec(obj)
            where = f"{name}: {obj['metadata']['name']}"
            assert spec["securityContext"]["runAsNonRoot"] is True, where
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert spec["automountServiceAccountToken"] is False, where
            assert spec["serviceAccountName"] == obj["metadata"]["name"].split("-")[0], where
            assert not spec.get("hostNetwork") and not spec.get("hostPID"), where
            for c in all_containers(obj):
                sc = c["securityContext"]
                assert sc["allowPrivilegeEscalation"] is False, f"{where}/{c['name']}"
                assert sc["readOnlyRootFilesystem"] is True, f"{where}/{c['name']}"
                assert sc["capabilities"]["drop"] == ["ALL"], f"{where}/{c['name']}"
                assert "add" not in sc["capabilities"], f"{where}/{c['name']}"
                assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0, f"{where}/{c['name']}"
                assert sc["seccompProfile"]["type"] == "RuntimeDefault", f"{where}/{c['name']}"
                mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
                assert "/tmp" in mounts, f"{where}/{c['name']} has no writable /tmp"
                volumes = {v["name"]: v for v in spec["volumes"]}
                assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}/{c['name']}"


def test_the_namespace_enforces_restricted(local):
    ns = by_kind_name(local, "Namespace", "polls")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_image_has_a_pinned_tag(renders):
    for name, objects in renders.items():
        for obj in workloads(objects):
            for c in all_containers(obj):
                image = c["image"]
                tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
                assert tag and tag != "latest", f"{name}: {c['name']} uses {image!r}"


def test_production_images_come_from_one_release(production):
    """All five images carry the same tag, and it is not the local `dev` one."""
    tags = {c["image"].rsplit(":", 1)[1] for o in workloads(production) for c in all_containers(o)}
    assert len(tags) == 1 and "dev" not in tags, tags


def test_rollouts_never_drop_capacity(renders):
    """Every Deployment but beat rolls one new pod at a time and removes an old one only once a new
    one is ready (surge 1, unavailable 0: docs/releases.md); beat is Recreate."""
    for name, objects in renders.items():
        for obj in objects:
            if obj["kind"] != "Deployment":
                continue
            strategy = obj["spec"]["strategy"]
            if obj["metadata"]["name"] == "beat":
                assert strategy == {"type": "Recreate"}, name
            else:
                assert strategy["type"] == "RollingUpdate", name
                assert strategy["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}, name


def test_beat_is_a_singleton(renders):
    """beat: one replica, Recreate, and no autoscaler or budget anywhere."""
    for name, objects in renders.items():
        beat = by_kind_name(objects, "Deployment", "beat")
        assert beat["spec"]["replicas"] == 1, name
        assert beat["spec"]["strategy"]["type"] == "Recreate", name
        for obj in objects:
            if obj["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
                assert obj["spec"]["scaleTargetRef"]["name"] != "beat", name


def test_shutdown_budget_fits_the_grace_period(production):
    """preStop wait + DRAIN_SECONDS + GUNICORN_GRACEFUL_TIMEOUT < terminationGracePeriodSeconds
    (values from config.env, as the pods get them); the worker outlasts the hard task limit."""
    config = read_env_file(K8S / "base" / "config.env")
    drain = int(config.get("DRAIN_SECONDS", 0))
    graceful = int(config.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
    for name in ("web", "api"):
        deployment = by_kind_name(production, "Deployment", name)
        spec = pod_spec(deployment)
        pre_stop = containers(deployment)[0]["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        assert int(pre_stop[1]) >= 11, "endpoint removal + CoreDNS TTL 5 s + nginx valid=5s"
        assert int(pre_stop[1]) + drain + graceful < spec["terminationGracePeriodSeconds"], name
    for name in ("gateway", "static"):
        c = containers(by_kind_name(production, "Deployment", name))[0]
        assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep", name
    hard_limit = int(config.get("CELERY_TASK_TIME_LIMIT", 150))
    worker = pod_spec(by_kind_name(production, "Deployment", "worker"))
    assert worker["terminationGracePeriodSeconds"] > hard_limit


def test_web_api_and_worker_wait_for_migrations(renders):
    """An init container running wait_for_migrations in the service's own image, of the release
    the migrate Job migrates to (same registry and tag as the Job's worker image): it waits for
    exactly the migrations that Job applies (services/tests/test_release_order.py holds the roles'
    migrations to the worker's)."""
    for name, objects in renders.items():
        job = migrate_job(objects)
        for service in MIGRATION_GATED:
            deployment = by_kind_name(objects, "Deployment", service)
            init = pod_spec(deployment).get("initContainers", [])
            assert len(init) == 1, f"{name}: {service}"
            assert init[0]["command"] == ["python", "manage.py", "wait_for_migrations", "--timeout", "600"]
            assert init[0]["image"] == containers(deployment)[0]["image"]
            assert release_of(init[0]["image"]) == release_of(containers(job)[0]["image"]), f"{name}: {service}"


def release_of(image: str) -> tuple[str, str]:
    """Return (registry path, tag) of polls/<service> images: what one release's five images share."""
    path, _, tag = image.rpartition(":")
    return path.rpartition("/")[0], tag


def test_a_rollout_waiting_for_a_long_migration_is_not_declared_failed(renders):
    """A new web, api or worker pod may wait in wait_for_migrations as long as the migrate Job may run
    (activeDeadlineSeconds); its Deployment's progress deadline covers that wait plus the default
    10 min to start, so `kubectl rollout status` (make k8s-apply) does not fail a rollout that is
    only waiting for a long, legitimate migration (a CREATE INDEX CONCURRENTLY on a big table)."""
    for name, objects in renders.items():
        job = migrate_job(objects)
        for service in MIGRATION_GATED:
            deadline = by_kind_name(objects, "Deployment", service)["spec"].get("progressDeadlineSeconds", 600)
            assert deadline >= job["spec"]["activeDeadlineSeconds"] + 600, f"{name}: {service}"


def test_migrate_job_runs_migrate_in_the_worker_image(production):
    job = migrate_job(production)
    c = containers(job)[0]
    assert c["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert "/polls/worker:" in "/" + c["image"]
    assert "env" not in c, "DJANGO_SETTINGS_MODULE comes from the image"


def test_production_runs_two_or_more_of_each_stateless_service(production):
    """Either spec.replicas >= 2 or an autoscaler with a minimum >= 2 owns the Deployment."""
    minimums = {}
    for obj in production:
        if obj["kind"] == "HorizontalPodAutoscaler":
            minimums[obj["spec"]["scaleTargetRef"]["name"]] = obj["spec"]["minReplicas"]
        if obj["kind"] == "ScaledObject":
            minimums[obj["spec"]["scaleTargetRef"]["name"]] = obj["spec"]["minReplicaCount"]
    for service in STATELESS:
        deployment = by_kind_name(production, "Deployment", service)
        count = deployment["spec"].get("replicas", minimums.get(service, 1))
        assert count >= 2, service
        if service in minimums:
            assert "replicas" not in deployment["spec"], f"{service}: apply would fight the HPA"


def test_production_multi_replica_deployments_have_a_pdb(production):
    budgets = {
        o["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]: o
        for o in production
        if o["kind"] == "PodDisruptionBudget"
    }
    for service in STATELESS:
        assert service in budgets, service
        assert budgets[service]["spec"]["maxUnavailable"] == 1
    assert "beat" not in budgets


def test_production_spreads_pods_across_nodes(production):
    for service in STATELESS:
        spec = pod_spec(by_kind_name(production, "Deployment", service))
        keys = {t["topologyKey"] for t in spec["topologySpreadConstraints"]}
        assert "kubernetes.io/hostname" in keys, service


def test_production_restores_secure_django_settings(production, local):
    config = polls_config(production)
    assert config["DJANGO_SECURE_SSL_REDIRECT"] == "true"
    assert config["DJANGO_SECURE_COOKIES"] == "true"
    assert int(config["DJANGO_HSTS_SECONDS"]) >= 31536000
    assert config.get("DJANGO_DEBUG", "false") == "false"
    assert config["REPLICA_HEADER_ENABLED"] == "false"
    assert config["DJANGO_CSRF_TRUSTED_ORIGINS"].startswith("https://")
    local_config = polls_config(local)
    assert local_config == read_env_file(K8S / "base" / "config.env")


def test_production_keeps_every_limit_the_load_stacks_relax(production):
    """Each limit that load stacks relax (relaxed-limits.env) has its production value in the
    rendered production ConfigMap: unset, so the code's default applies, or set to that default.
    The defaults are read from the configuration tables of the README (which services/tests holds
    to the code) and gateway/README.md; a limit missing from them fails here too."""
    import re

    config = polls_config(production)
    relaxed = read_env_file(K8S / "components" / "loadtest" / "relaxed-limits.env")
    tables = (REPO / "README.md").read_text() + (REPO / "gateway" / "README.md").read_text()
    table = dict(re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", tables, re.M))
    assert len(relaxed) >= 4
    for name, relaxed_value in relaxed.items():
        assert name in table, f"{name} is relaxed for load but has no default in the README's table"
        assert table[name] != relaxed_value, f"{name}: the relaxed value is the production one"
        assert config.get(name, table[name]) == table[name], f"{name} is relaxed in production"


def test_keda_reads_the_broker_the_workers_use(production):
    """KEDA's queue-length triggers reach the production broker of secret.example.yaml: same host
    and port, TLS exactly when the broker URL is rediss://."""
    from urllib.parse import urlsplit

    import yaml

    secret = yaml.safe_load((K8S / "overlays" / "production" / "secret.example.yaml").read_text())
    broker = urlsplit(secret["stringData"]["CELERY_BROKER_URL"])
    triggers = by_kind_name(production, "ScaledObject", "worker")["spec"]["triggers"]
    assert len(triggers) == 2
    for trigger in triggers:
        assert trigger["metadata"]["address"] == broker.netloc.rpartition("@")[2]
        assert trigger["metadata"].get("enableTLS", "false") == str(broker.scheme == "rediss").lower()
        assert trigger["authenticationRef"] == {"name": "redis"}


def test_production_has_no_in_cluster_database(production):
    assert not [o for o in production if o["kind"] in ("StatefulSet", "PersistentVolumeClaim")]
    ingress = by_kind_name(production, "Ingress", "polls")
    assert ingress["spec"]["tls"][0]["secretName"]


def test_edge_sends_everything_to_the_gateway(renders):
    """Ingress: class nginx, no annotations, one catch-all path to the gateway Service."""
    for name, objects in renders.items():
        ingress = by_kind_name(objects, "Ingress", "polls")
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert not ingress["metadata"].get("annotations"), name
        for rule in ingress["spec"]["rules"]:
            (path,) = rule["http"]["paths"]
            assert path["path"] == "/" and path["pathType"] == "Prefix"
            assert path["backend"]["service"] == {"name": "gateway", "port": {"name": "http"}}


def test_services_behind_the_gateway_are_headless_and_named_fully(production):
    gateway = containers(by_kind_name(production, "Deployment", "gateway"))[0]
    env = {e["name"]: e["value"] for e in gateway["env"]}
    # The edge controller's pods name the client; trusting every address would let anyone.
    trusted = env["GATEWAY_TRUSTED_PROXIES"].replace(",", " ").split()
    assert trusted and not {"0.0.0.0/0", "::/0"} & set(trusted)
    for key, service in (("WEB_UPSTREAM", "web"), ("API_UPSTREAM", "api"), ("STATIC_UPSTREAM", "static")):
        svc = by_kind_name(production, "Service", service)
        assert svc["spec"]["clusterIP"] == "None", service
        port = svc["spec"]["ports"][0]["port"]
        assert env[key] == f"{service}.polls.svc.cluster.local:{port}"


def test_configmap_is_generated_from_the_env_file_compose_reads():
    """The repository's config.env (compose's env_file) is the very file kustomize reads."""
    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    env_files = {f for s in compose["services"].values() for f in s.get("env_file", [])}
    assert "config.env" in env_files
    assert (REPO / "config.env").resolve() == (K8S / "base" / "config.env").resolve()
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    generators = {g["name"]: g for g in kustomization["configMapGenerator"]}
    assert set(generators) == {"polls-config", "migrate"}  # migrate: the release stamp (migrate.yaml)
    assert generators["polls-config"]["envs"] == ["config.env"]


def test_secret_examples_hold_placeholders_only():
    import yaml

    for path in (K8S / "base/secret.example.yaml", K8S / "overlays/production/secret.example.yaml"):
        secret = yaml.safe_load(path.read_text())
        for key, value in secret["stringData"].items():
            if key in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
                assert value.startswith("CHANGE-ME"), f"{path}: {key}"
            if key.endswith("_URL"):
                assert "CHANGE-ME" in value, f"{path}: {key}"
    for path in K8S.rglob("kustomization.yaml"):
        listed = yaml.safe_load(path.read_text()).get("resources", [])
        assert not [r for r in listed if "secret.example" in r], f"{path} must not apply it"
