"""Every overlay and every combination of components renders, with the basics right."""

import pytest
from conftest import COMPONENTS, OVERLAYS, component_sets, render_components, render_overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders(overlay):
    """Each overlay renders without errors and everything lands in the polls namespace."""
    objects = render_overlay(overlay)
    assert objects
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "polls", obj["metadata"]["name"]
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "polls", obj["metadata"]["name"]


@pytest.mark.parametrize("components", component_sets(), ids=lambda c: "+".join(c) or "none")
def test_component_combination_renders(components, render_root):
    """Base with any subset of the components renders without errors."""
    objects = render_components(components, render_root)
    assert any(o["kind"] == "Deployment" for o in objects)


def test_every_component_has_a_readme():
    """Each component says what it does and what it needs."""
    from conftest import K8S

    for component in COMPONENTS:
        assert (K8S / "components" / component / "README.md").is_file(), component


def test_no_deprecated_kustomize_fields():
    """Kustomizations use current fields (labels, patches), not deprecated ones."""
    from conftest import K8S

    deprecated = ("commonLabels", "patchesJson6902", "patchesStrategicMerge", "vars", "bases")
    for path in K8S.rglob("kustomization.yaml"):
        import yaml

        keys = set(yaml.safe_load(path.read_text()))
        assert not keys & set(deprecated), f"{path}: {keys & set(deprecated)}"
