"""The network policies, evaluated (netpol.py) on every render that has the network-policies
component: what talks in compose is allowed, everything else between the stack's pods is denied,
the edge (Ingress controller, Gateway API data plane, loadtest) reaches the gateway and only it,
DNS works with and without NodeLocal DNSCache, and settings.yaml is the one place to change them."""

import itertools
import os
import re
import shutil
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import K8S, REPO, by_kind_name, kustomize, pod_template, workloads
from netpol import Endpoint, allowed, namespace_labels

COMPONENT = K8S / "components" / "network-policies"
SETTINGS = yaml.safe_load((COMPONENT / "settings.yaml").read_text())["spec"]
COMPLETION = "service_completed_successfully"  # depends_on that orders start-up, not a connection
NODE_LOCAL_DNS = "169.254.20.10"
MANAGED = "203.0.113.7"  # a managed PostgreSQL/Redis outside the cluster (TEST-NET-3)
INTERNET = "198.51.100.9"


def compose_talks() -> set[tuple[str, str]]:
    """(client, server) for every connection compose declares: its depends_on on a running service."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return {
        (name, dep)
        for name, service in compose["services"].items()
        for dep, how in (service.get("depends_on") or {}).items()
        if how.get("condition") != COMPLETION
    }


def managed_ports() -> dict[str, int]:
    """The ports of the managed PostgreSQL and Redis in the production Secret's example."""
    secret = yaml.safe_load((K8S / "overlays/production/secret.example.yaml").read_text())["stringData"]
    ports = {urlsplit(secret[k]).port for k in ("CELERY_BROKER_URL", "CACHE_REDIS_URL")}
    assert len(ports) == 1, ports
    return {"postgres": int(secret["POSTGRES_PORT"]), "redis": ports.pop()}


def pod_name(obj: dict) -> str:
    """The workload's name; the migrate Job's release hash dropped."""
    name = obj["metadata"]["name"]
    return "migrate" if name.startswith("migrate-") else name


def stack_pods(objects) -> dict[str, Endpoint]:
    pods = {}
    for n, obj in enumerate(workloads(objects)):
        template = pod_template(obj)
        containers = template["spec"].get("initContainers", []) + template["spec"]["containers"]
        ports = {
            p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
            for c in containers
            for p in c.get("ports", [])
            if "name" in p
        }
        pods[pod_name(obj)] = Endpoint(
            pod_name(obj), f"10.244.0.{n + 10}", obj["metadata"]["namespace"], template["metadata"]["labels"], ports
        )
    return pods


# Pods that real clusters run around the stack, labelled as their default installs label them.
KUBE_DNS = Endpoint(
    "kube-dns", "10.244.9.2", "kube-system", {"k8s-app": "kube-dns"}, {"dns": (53, "UDP"), "dns-tcp": (53, "TCP")}
)
EDGE_CONTROLLERS = [
    Endpoint(
        "ingress-nginx",
        "10.244.9.3",
        "ingress-nginx",
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    ),
    Endpoint(
        "f5-nginx-ingress",
        "10.244.9.4",
        "nginx-ingress",
        {"app.kubernetes.io/name": "nginx-ingress", "app.kubernetes.io/instance": "nginx-ingress"},
    ),
    Endpoint(
        "envoy-gateway-proxy",
        "10.244.9.5",
        "envoy-gateway-system",
        {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"},
    ),
]
STRANGERS = [
    Endpoint("a pod in default", "10.244.9.6", "default", {"app": "curl"}),
    Endpoint("an ingress-nginx look-alike", "10.244.9.7", "default", {"app.kubernetes.io/name": "ingress-nginx"}),
    Endpoint("the internet", INTERNET),
]
NGF_CONTROL_PLANE = Endpoint(
    "ngf", "10.244.9.8", "nginx-gateway", {"app.kubernetes.io/name": "nginx-gateway"}, {"agent-grpc": (443, "TCP")}
)
ISTIOD = Endpoint("istiod", "10.244.9.9", "istio-system", {"app": "istiod"}, {"grpc-xds": (15012, "TCP")})


def data_plane(objects) -> Endpoint:
    """A Gateway API implementation's proxy pod for the HTTPRoute's Gateway (NGF 2.x, Istio)."""
    (gateway,) = by_kind_name(objects, "HTTPRoute", "polls")["spec"]["parentRefs"]
    return Endpoint(
        "gateway-data-plane",
        "10.244.0.200",
        gateway.get("namespace", "polls"),
        {"gateway.networking.k8s.io/gateway-name": gateway["name"]},
        {"http": (80, "TCP")},
    )


def service_port(objects, url: str, pods: dict) -> tuple[Endpoint, int]:
    """The pod and pod port that a client's URL (host:port or http://host[:port]) reaches."""
    url = url if "//" in url else "//" + url
    parts = urlsplit(url)
    name, namespace = parts.hostname.split(".")[:2]
    service = by_kind_name(objects, "Service", name)
    assert service["metadata"]["namespace"] == namespace
    port = parts.port or {"http": 80, "https": 443}[parts.scheme]
    (entry,) = [p for p in service["spec"]["ports"] if p["port"] == port]
    (pod,) = [
        p
        for p in pods.values()
        if p.namespace == namespace and all(p.labels.get(k) == v for k, v in service["spec"]["selector"].items())
    ]
    target = entry.get("targetPort", port)
    return pod, pod.ports[target][0] if isinstance(target, str) else target


class Cluster:
    """One render's policies and pods, and the question: may a reach b on a port?"""

    def __init__(self, objects):
        self.objects = objects
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
        self.namespaces = {
            o["metadata"]["name"]: namespace_labels(o["metadata"]["name"], o["metadata"].get("labels"))
            for o in objects
            if o["kind"] == "Namespace"
        }
        self.pods = stack_pods(objects)

    def allows(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return allowed(self.policies, self.namespaces, src, dst, port, protocol)


def network_policy_renders(all_renders) -> dict:
    return {
        name: objects
        for name, objects in all_renders.items()
        if any(
            o["kind"] == "NetworkPolicy"
            and o["metadata"]["name"] == "default-deny"
            and o["metadata"]["namespace"] == "polls"
            for o in objects
        )
    }


@pytest.fixture(scope="module")
def clusters(all_renders) -> dict[str, Cluster]:
    renders = network_policy_renders(all_renders)
    assert "overlays/production" in renders and len(renders) == 2**5 + 1
    return {name: Cluster(objects) for name, objects in renders.items()}


def test_every_stack_pod_is_isolated_by_default_and_has_its_own_policy(clusters):
    for name, cluster in clusters.items():
        (deny,) = [
            p
            for p in cluster.policies
            if p["metadata"]["name"] == "default-deny" and p["metadata"]["namespace"] == "polls"
        ]
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, name
        for pod in cluster.pods.values():
            if pod.namespace != "polls":
                continue
            own = [
                p
                for p in cluster.policies
                if p["metadata"]["name"] == pod.name and p["metadata"]["namespace"] == "polls"
            ]
            assert own and own[0]["spec"]["podSelector"]["matchLabels"].items() <= pod.labels.items(), (
                f"{name}: no policy of its own for {pod.name}"
            )


def test_no_placeholder_survives_the_settings(clusters):
    """Every CAPITALS placeholder of the policy files was replaced from settings.yaml."""
    for name, cluster in clusters.items():
        text = yaml.safe_dump_all(cluster.policies)
        assert not re.findall(r"\b[A-Z][A-Z_]{3,}\b", text.replace("TCP", "").replace("UDP", "")), name


def test_what_talks_in_compose_is_allowed_and_nothing_else_in_the_namespace(clusters):
    """For every ordered pair of the stack's pods and every port the destination declares: allowed
    exactly when compose has the client depend on the server (the gateway's upstreams included),
    or the backup component's pod reads the database. Managed PostgreSQL/Redis (outside the
    cluster, the production Secret's ports) likewise."""
    talks = compose_talks()
    assert {
        ("gateway", "web"),
        ("gateway", "api"),
        ("gateway", "static"),
        ("beat", "redis"),
        ("migrate", "postgres"),
    } <= talks
    talks |= {("backup", "postgres")}
    managed = managed_ports()
    for name, cluster in clusters.items():
        stack = {n: p for n, p in cluster.pods.items() if p.namespace == "polls"}
        for (a, src), (b, dst) in itertools.product(stack.items(), stack.items()):
            for port_name, (port, protocol) in dst.ports.items():
                expected = (a, b) in talks
                assert cluster.allows(src, dst, port, protocol) == expected, (
                    f"{name}: {a} -> {b}:{port_name} should be {'allowed' if expected else 'denied'}"
                )
        for a, src in stack.items():
            for server, port in managed.items():
                expected = (a, server) in talks
                outside = Endpoint(f"managed {server}", MANAGED)
                assert cluster.allows(src, outside, port) == expected, f"{name}: {a} -> managed {server}:{port}"


def test_the_gateway_reaches_its_upstreams_where_it_sends(clusters):
    """The gateway's *_UPSTREAM addresses, through their Services, land on allowed pod ports."""
    for name, cluster in clusters.items():
        gateway = by_kind_name(cluster.objects, "Deployment", "gateway")
        env = {e["name"]: e["value"] for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
        for key in ("WEB_UPSTREAM", "API_UPSTREAM", "STATIC_UPSTREAM"):
            pod, port = service_port(cluster.objects, env[key], cluster.pods)
            assert cluster.allows(cluster.pods["gateway"], pod, port), f"{name}: {key}"


def test_every_pod_resolves_names_with_and_without_node_local_dns(clusters):
    for name, cluster in clusters.items():
        node_local = Endpoint("node-local-dns", NODE_LOCAL_DNS)
        for pod, protocol in itertools.product(cluster.pods.values(), ("UDP", "TCP")):
            assert cluster.allows(pod, KUBE_DNS, 53, protocol), f"{name}: {pod.name} -> kube-dns {protocol}"
            assert cluster.allows(pod, node_local, 53, protocol), f"{name}: {pod.name} -> NodeLocal {protocol}"
        web = cluster.pods["web"]
        assert not cluster.allows(web, Endpoint("another resolver", "10.96.0.99"), 53, "UDP"), name


def test_the_edge_reaches_the_gateway_and_nothing_else(clusters):
    for name, cluster in clusters.items():
        gateway_pod, gateway_port = service_port(cluster.objects, "http://gateway.polls.svc", cluster.pods)
        for controller in EDGE_CONTROLLERS:
            assert cluster.allows(controller, gateway_pod, gateway_port), f"{name}: {controller.name}"
            for pod in cluster.pods.values():
                if pod.namespace == "polls" and pod.name != "gateway":
                    for port, protocol in pod.ports.values():
                        assert not cluster.allows(controller, pod, port, protocol), (
                            f"{name}: {controller.name} -> {pod.name}"
                        )
        for stranger in STRANGERS:
            assert not cluster.allows(stranger, gateway_pod, gateway_port), f"{name}: {stranger.name}"


def test_a_gateway_api_data_plane_serves_the_site(clusters):
    """With the gateway-api component: the Gateway's proxies in polls take clients from anywhere on
    the listener ports, reach the gateway (and not web/api/static directly), and their control plane."""
    for name, cluster in clusters.items():
        if not any(o["kind"] == "HTTPRoute" for o in cluster.objects):
            continue
        proxy = data_plane(cluster.objects)
        gateway_pod, gateway_port = service_port(cluster.objects, "http://gateway.polls.svc", cluster.pods)
        assert cluster.allows(proxy, gateway_pod, gateway_port), name
        for client in (Endpoint("the internet", INTERNET), STRANGERS[0], EDGE_CONTROLLERS[0]):
            assert cluster.allows(client, proxy, 80), f"{name}: {client.name} -> data plane"
        assert not cluster.allows(Endpoint("the internet", INTERNET), gateway_pod, gateway_port), name
        for upstream in ("web", "api", "static"):
            pod = cluster.pods[upstream]
            assert not cluster.allows(proxy, pod, pod.ports["http"][0]), f"{name}: data plane -> {upstream}"
        assert cluster.allows(proxy, NGF_CONTROL_PLANE, 443), name
        assert cluster.allows(proxy, ISTIOD, 15012), name
        assert not cluster.allows(proxy, Endpoint("managed redis", MANAGED), managed_ports()["redis"]), name


def test_the_loadtest_reaches_the_gateway_and_only_it(clusters):
    """With the loadtest component: the Job's pods reach the gateway where LOADTEST_TARGET points
    (and the site's public host), but not web, api or static directly, and nothing reaches them."""
    with_loadtest = {name: cluster for name, cluster in clusters.items() if "loadtest" in cluster.pods}
    assert len(with_loadtest) == 2**4, "the loadtest component with every other combination"
    for name, cluster in with_loadtest.items():
        target = by_kind_name(cluster.objects, "ConfigMap", "loadtest-settings")["data"]["LOADTEST_TARGET"]
        gateway_pod, gateway_port = service_port(cluster.objects, target, cluster.pods)
        assert gateway_pod.name == "gateway", name
        load = cluster.pods["loadtest"]
        assert load.namespace == "polls-loadtest", name
        assert cluster.allows(load, gateway_pod, gateway_port), name
        for upstream in ("api", "web", "static"):
            pod = cluster.pods[upstream]
            assert not cluster.allows(load, pod, pod.ports["http"][0]), f"{name}: loadtest -> {upstream}"
        assert cluster.allows(load, Endpoint("the public site", INTERNET), 443), name
        assert not cluster.allows(load, Endpoint("managed redis", MANAGED), managed_ports()["redis"]), name
        for client in (gateway_pod, STRANGERS[0], EDGE_CONTROLLERS[0]):
            assert not cluster.allows(client, load, 8080), f"{name}: {client.name} -> loadtest"


def test_the_shipped_settings_fit_the_production_overlay():
    """settings.yaml and the production Secret's example agree on the managed services' ports, and
    NodeLocal DNSCache has its default address."""
    managed = managed_ports()
    assert SETTINGS["postgres"] == {"protocol": "TCP", "port": managed["postgres"]}
    assert SETTINGS["redis"] == {"protocol": "TCP", "port": managed["redis"]}
    assert {"ipBlock": {"cidr": f"{NODE_LOCAL_DNS}/32"}} in SETTINGS["nodeLocalDNS"]


def test_settings_yaml_is_the_one_place_to_change(tmp_path):
    """Edit settings.yaml in a copy of the component (Redis on 6390, PostgreSQL on 5433, another
    NodeLocal address, one edge controller): every policy that uses a value follows, and the old
    values are gone."""
    component = tmp_path / "components" / "network-policies"
    shutil.copytree(COMPONENT, component)
    settings = yaml.safe_load((component / "settings.yaml").read_text())
    mine = Endpoint("my controller", "10.244.9.30", "edge", {"app": "my-proxy"})
    settings["spec"].update(
        redis={"protocol": "TCP", "port": 6390},
        postgres={"protocol": "TCP", "port": 5433},
        nodeLocalDNS=[{"ipBlock": {"cidr": "169.254.25.10/32"}}],
        edgeControllers=[
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}},
                "podSelector": {"matchLabels": {"app": "my-proxy"}},
            }
        ],
    )
    (component / "settings.yaml").write_text(yaml.safe_dump(settings))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "base", overlay)],
                "components": [os.path.relpath(component, overlay)],
            }
        )
    )
    cluster = Cluster(kustomize(overlay))

    def uses(port):
        return {
            p["metadata"]["name"]
            for p in cluster.policies
            for rule in p["spec"].get("egress", [])
            for entry in rule.get("ports", [])
            if entry.get("port") == port
        }

    assert uses(6390) == {"web", "api", "worker", "beat"}
    assert uses(5433) == {"web", "api", "worker", "migrate", "backup"}
    assert uses(managed_ports()["redis"]) == set() and uses(5432) == set()
    web, outside = cluster.pods["web"], Endpoint("managed", MANAGED)
    assert cluster.allows(web, outside, 6390) and not cluster.allows(web, outside, managed_ports()["redis"])
    assert cluster.allows(web, Endpoint("node-local-dns", "169.254.25.10"), 53, "UDP")
    assert not cluster.allows(web, Endpoint("node-local-dns", NODE_LOCAL_DNS), 53, "UDP")
    gateway_pod, gateway_port = service_port(cluster.objects, "http://gateway.polls.svc", cluster.pods)
    assert cluster.allows(mine, gateway_pod, gateway_port)
    assert not cluster.allows(EDGE_CONTROLLERS[0], gateway_pod, gateway_port)
