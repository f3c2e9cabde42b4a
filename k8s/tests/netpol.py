"""A small NetworkPolicy evaluator (networking.k8s.io/v1 semantics) for the rendered manifests.

A connection from `src` to `dst` on a port is allowed iff the source may send it (egress) and the
destination may receive it (ingress). A pod selected by any policy of its namespace listing a
direction in policyTypes is isolated in that direction, and then only the rules of those policies
allow; a pod no policy selects is open. Endpoints outside the cluster (a managed database, the
internet, a hostNetwork address such as NodeLocal DNSCache) are not subject to policies and are
matched only by ipBlock peers or by rules without peers. ipBlock is not matched against pod
addresses (Kubernetes leaves that to the implementation, and these policies do not rely on it).
Named ports are resolved against the destination pod's container ports.
"""

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    name: str
    ip: str
    namespace: str | None = None  # None: outside the cluster (or the host network)
    labels: dict = field(default_factory=dict, hash=False)
    ports: dict = field(default_factory=dict, hash=False)  # port name -> (number, protocol)

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def selects(selector: dict | None, labels: dict) -> bool:
    """A label selector ({} selects everything)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def policy_types(policy: dict) -> list[str]:
    """policyTypes, defaulted as the API server does when it is left out."""
    spec = policy["spec"]
    if "policyTypes" in spec:
        return spec["policyTypes"]
    return ["Ingress"] + (["Egress"] if "egress" in spec else [])


def namespace_labels(name: str, extra: dict | None = None) -> dict:
    """The labels of a namespace: the API server always sets kubernetes.io/metadata.name."""
    return {**(extra or {}), "kubernetes.io/metadata.name": name}


def peer_matches(peer: dict, policy_namespace: str, endpoint: Endpoint, namespaces: dict) -> bool:
    if "ipBlock" in peer:
        if endpoint.is_pod:
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(endpoint.ip)
        network = ipaddress.ip_network(block["cidr"])
        if address.version != network.version or address not in network:
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
    if not endpoint.is_pod:
        return False
    if "namespaceSelector" in peer:
        ns_labels = namespaces.get(endpoint.namespace, namespace_labels(endpoint.namespace))
        if not selects(peer["namespaceSelector"], ns_labels):
            return False
    elif endpoint.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), endpoint.labels)


def port_matches(rule_ports: list | None, dst: Endpoint, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        wanted = p.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if dst.ports.get(wanted) == (port, protocol):
                return True
        elif wanted <= port <= p.get("endPort", wanted):
            return True
    return False


def _rules(policies, pod: Endpoint, direction: str) -> list[tuple[dict, str]] | None:
    """The rules of the policies isolating `pod` in `direction`, or None if it is not isolated."""
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace") == pod.namespace
        and direction in policy_types(p)
        and selects(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return None
    key = direction.lower()
    return [(rule, p["metadata"]["namespace"]) for p in selecting for rule in p["spec"].get(key) or []]


def _direction_allows(policies, namespaces, pod, peer, dst, port, protocol, direction) -> bool:
    if not pod.is_pod:
        return True
    rules = _rules(policies, pod, direction)
    if rules is None:
        return True
    peers_key = "from" if direction == "Ingress" else "to"
    for rule, ns in rules:
        peers = rule.get(peers_key)
        if peers and not any(peer_matches(p, ns, peer, namespaces) for p in peers):
            continue
        if port_matches(rule.get("ports"), dst, port, protocol):
            return True
    return False


def allowed(policies, namespaces: dict, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether src may open a connection to dst's port (the pod's port, after any Service)."""
    return _direction_allows(policies, namespaces, src, dst, dst, port, protocol, "Egress") and _direction_allows(
        policies, namespaces, dst, src, dst, port, protocol, "Ingress"
    )
