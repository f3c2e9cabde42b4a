"""Every apply converges: a new image or config value is a legal update that runs a new migrate Job.

Each test copies k8s/ to a temporary folder, changes what a team changes between two applies (a
config value, the image tag, a digest instead of a tag), renders both, and checks what the API
server would check when the second is applied over the first: no immutable field changed, every
name and label short enough, and the migrate Job of the second a new one.
"""

import re
import shutil

import pytest
import yaml
from conftest import K8S, OVERLAYS, kustomize

DIGEST = "sha256:" + "0123456789abcdef" * 4
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.fixture
def tree(tmp_path):
    """A private copy of k8s/ to edit."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return copy


def migrate_job(objects) -> dict:
    jobs = [o for o in objects if o["kind"] == "Job"]
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    return jobs[0]


def set_config(tree, overlay: str, line: str) -> None:
    """Change one value of config.env, the file both overlays' ConfigMap is generated from."""
    name = line.split("=")[0]
    env = tree / "base" / "config.env"
    text = env.read_text()
    assert re.search(rf"^{name}=", text, re.M), name
    env.write_text(re.sub(rf"^{name}=.*$", line, text, flags=re.M))


def set_worker_image(tree, overlay: str, **fields) -> None:
    """Set the worker image's newTag or digest in the overlay's `images:`, as `kustomize edit set image` does."""
    path = tree / "overlays" / overlay / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    images = kustomization.setdefault("images", [])
    entry = next((i for i in images if i["name"] == "polls/worker"), None)
    if entry is None:
        entry = {"name": "polls/worker"}
        images.append(entry)
    entry.pop("newTag", None)
    entry.update(fields)
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


def assert_legal_update(before, after) -> None:
    """Applying `after` over `before` changes no immutable field, and every name fits its label."""
    old = {(o["kind"], o["metadata"]["name"]): o for o in before}
    for obj in after:
        kind, name = obj["kind"], obj["metadata"]["name"]
        # Job and Pod names become label values (job-name, controller labels): 63 at most.
        if kind in ("Job", "Service", "Deployment", "StatefulSet", "CronJob"):
            assert len(name) <= 63 and DNS_LABEL.match(name), f"{kind}/{name} is not a DNS label"
        template = obj.get("spec", {}).get("template", {})
        for labels in (obj["metadata"].get("labels", {}), template.get("metadata", {}).get("labels", {})):
            for key, value in labels.items():
                assert len(str(value)) <= 63, f"{kind}/{name}: label {key}={value} is longer than 63"
        previous = old.get((kind, name))
        if previous is None:
            continue
        if kind == "Job":
            assert previous["spec"]["template"] == obj["spec"]["template"], (
                f"Job/{name} kept its name but its pod template changed: the API server refuses that apply"
            )
        if kind in ("Deployment", "StatefulSet", "DaemonSet"):
            assert previous["spec"]["selector"] == obj["spec"]["selector"], f"{kind}/{name}: selector is immutable"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_reapplying_the_same_release_keeps_the_finished_job(tree, overlay):
    """Two renders of an unchanged overlay name the same Job: a re-apply runs nothing again."""
    first = kustomize(tree / "overlays" / overlay)
    second = kustomize(tree / "overlays" / overlay)
    assert migrate_job(first)["metadata"]["name"] == migrate_job(second)["metadata"]["name"]
    assert_legal_update(first, second)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda tree, overlay: set_config(tree, overlay, "LOG_LEVEL=DEBUG"), id="config-value"),
        pytest.param(lambda tree, overlay: set_worker_image(tree, overlay, newTag="1.0.1"), id="new-tag"),
        pytest.param(lambda tree, overlay: set_worker_image(tree, overlay, digest=DIGEST), id="digest"),
    ],
)
def test_a_change_applies_cleanly_and_runs_a_new_job(tree, overlay, change):
    """A new config value, tag or digest gives a new migrate Job (a legal apply, a run of migrate)."""
    before = kustomize(tree / "overlays" / overlay)
    change(tree, overlay)
    after = kustomize(tree / "overlays" / overlay)

    assert_legal_update(before, after)
    old_job, new_job = migrate_job(before), migrate_job(after)
    assert new_job["metadata"]["name"] != old_job["metadata"]["name"]
    assert new_job["metadata"]["name"].startswith("migrate-")


def test_the_job_runs_the_image_and_config_it_is_named_after(tree):
    """The release stamp holds exactly the Job's image and the ConfigMap its pods read."""
    set_worker_image(tree, "production", digest=DIGEST)
    objects = kustomize(tree / "overlays" / "production")
    job = migrate_job(objects)
    configs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    stamp = configs[job["metadata"]["name"]]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert stamp["data"]["MIGRATE_IMAGE"] == container["image"] and container["image"].endswith("@" + DIGEST)
    config = configs[container["envFrom"][0]["configMapRef"]["name"]]
    assert {k: v for k, v in stamp["data"].items() if k != "MIGRATE_IMAGE"} == config["data"]


def test_the_job_waits_for_the_database_before_migrating():
    """A fresh install's Job waits for PostgreSQL in an init container instead of using up its retries."""
    for overlay in OVERLAYS:
        job = migrate_job(kustomize(K8S / "overlays" / overlay))
        init = job["spec"]["template"]["spec"]["initContainers"][0]
        assert init["command"][:4] == ["python", "manage.py", "wait_for_migrations", "--database-only"]
        wait = int(init["command"][init["command"].index("--timeout") + 1])
        assert job["spec"]["activeDeadlineSeconds"] > wait
