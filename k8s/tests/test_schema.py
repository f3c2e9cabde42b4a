"""Every rendered object is valid against the Kubernetes API schemas of several minor versions.

kubernetes-validate ships the OpenAPI schemas of the built-in kinds (strict: unknown fields are
errors). Custom resources (KEDA, Gateway API) are not in them; a small check of apiVersion,
kind and the fields their controllers require stands in (CRD_REQUIRED below).
"""

import json

import kubernetes_validate
import pytest
from conftest import K8S

# The oldest minor still in mainstream cloud support when written, the version of the kubectl
# installed here, and the newest released: the preStop exec, matchLabelKeys and the sleep-free
# manifests must hold across all three.
KUBERNETES_VERSIONS = ("1.30.0", "1.32.0", "1.35.0")

CRD_GROUPS = {"keda.sh", "gateway.networking.k8s.io"}
CRD_REQUIRED = {
    ("keda.sh/v1alpha1", "ScaledObject"): ("scaleTargetRef", "triggers"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): (),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): ("parentRefs", "rules"),
}


def unique_objects(renders) -> list[dict]:
    """Return each distinct object once: the same Deployment appears in many renders."""
    seen = {}
    for objects in renders.values():
        for obj in objects:
            seen.setdefault(json.dumps(obj, sort_keys=True), obj)
    return list(seen.values())


def extra_files() -> list[dict]:
    """Files kept out of every kustomization on purpose, validated all the same."""
    import yaml

    paths = [
        K8S / "components/autoscaling/worker-cpu-fallback.yaml",
        K8S / "base/secret.example.yaml",
        K8S / "overlays/production/secret.example.yaml",
    ]
    return [doc for p in paths for doc in yaml.safe_load_all(p.read_text()) if doc]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_kinds_match_the_api_schema(all_renders, version):
    """Every built-in object passes strict schema validation for this Kubernetes version."""
    errors = []
    for obj in unique_objects(all_renders) + extra_files():
        if (obj["apiVersion"], obj["kind"]) in CRD_REQUIRED:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: no schema ({exc})")
    assert not errors, "\n".join(errors)


def test_custom_resources_have_their_required_fields(all_renders):
    """KEDA and Gateway API objects have a known apiVersion/kind and the fields they need."""
    crds = [o for o in unique_objects(all_renders) if o["apiVersion"].split("/")[0] in CRD_GROUPS]
    kinds = {(o["apiVersion"], o["kind"]) for o in crds}
    assert kinds <= set(CRD_REQUIRED), kinds - set(CRD_REQUIRED)
    assert kinds == set(CRD_REQUIRED), "every custom kind is rendered by some combination"
    for obj in crds:
        assert obj["metadata"]["name"] and obj["metadata"]["namespace"] == "polls"
        for field in CRD_REQUIRED[(obj["apiVersion"], obj["kind"])]:
            assert obj["spec"].get(field), f"{obj['kind']}/{obj['metadata']['name']} lacks {field}"
    for obj in crds:
        if obj["kind"] == "ScaledObject":
            for trigger in obj["spec"]["triggers"]:
                meta = trigger["metadata"]
                assert trigger["type"] == "redis"
                assert {"address", "listName", "listLength", "databaseIndex"} <= set(meta)
        if obj["kind"] == "HTTPRoute":
            for rule in obj["spec"]["rules"]:
                assert rule["backendRefs"] == [{"name": "gateway", "port": 80}]
