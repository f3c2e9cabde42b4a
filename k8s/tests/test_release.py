"""Every apply converges: a new image or config value is a legal update that runs a new migrate Job.

Each test copies k8s/ to a temporary folder, changes what a team changes between two applies (a
config value, the image tag, a digest instead of a tag), renders both, and checks what the API
server would check when the second is applied over the first: no immutable field changed, every
name and label short enough, and the migrate Job of the second a new one. k8s/apply, which applies
a release and waits for its Job, runs against a stub kubectl (no cluster runs here).
"""

import re
import shutil
import subprocess
import time

import pytest
from conftest import (
    DEPLOYMENTS,
    IMAGES,
    K8S,
    MIGRATION_GATED,
    OVERLAYS,
    by_kind_name,
    calls,
    kustomize,
    migrate_job,
    set_image,
    stub_path,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.fixture
def tree(tmp_path):
    """A private copy of k8s/ to edit."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return copy


def set_config(tree, overlay: str, line: str) -> None:
    """Change one value of config.env, the file both overlays' ConfigMap is generated from."""
    name = line.split("=")[0]
    env = tree / "base" / "config.env"
    text = env.read_text()
    assert re.search(rf"^{name}=", text, re.M), name
    env.write_text(re.sub(rf"^{name}=.*$", line, text, flags=re.M))


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
        pytest.param(lambda tree, overlay: set_image(tree, overlay, "worker", newTag="1.0.1"), id="new-tag"),
        pytest.param(lambda tree, overlay: set_image(tree, overlay, "worker", digest=DIGEST), id="digest"),
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
    set_image(tree, "production", "worker", digest=DIGEST)
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


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_new_release_tag_runs_its_own_job_and_n_keeps_its_own(tree, overlay):
    """Release N+1 (all five images at a new tag, as `kustomize edit set image` writes it) names a
    new migrate Job running N+1's worker image, and web, api and worker wait for migrations in
    N+1's images. Putting N's tag back (a rollback) renders N's Job name and images again exactly,
    and both applies are legal: N's finished Job is found and left alone."""
    path = tree / "overlays" / overlay / "kustomization.yaml"
    release_n_text = path.read_text()
    release_n = kustomize(tree / "overlays" / overlay)
    for service in IMAGES:
        set_image(tree, overlay, service, newTag="9.9.9")
    release_next = kustomize(tree / "overlays" / overlay)
    path.write_text(release_n_text)
    rolled_back = kustomize(tree / "overlays" / overlay)

    assert_legal_update(release_n, release_next)
    assert_legal_update(release_next, rolled_back)
    job_n, job_next = migrate_job(release_n), migrate_job(release_next)
    assert job_next["metadata"]["name"] != job_n["metadata"]["name"]
    assert job_next["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/worker:9.9.9")
    for service in MIGRATION_GATED:
        spec = by_kind_name(release_next, "Deployment", service)["spec"]["template"]["spec"]
        images = {c["name"]: c["image"] for c in spec["initContainers"] + spec["containers"]}
        assert images == {"wait-for-migrations": f"{images[service].split(':')[0]}:9.9.9", service: images[service]}
        assert images[service].endswith(f"/{service}:9.9.9")
    assert rolled_back == release_n


def k8s_apply(tmp_path, tree, job_state: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run k8s/apply (make k8s-apply) on the tree's production overlay against a stub kubectl whose
    migrate Job ends `job_state`; return the result and the kubectl commands it ran."""
    secrets = tmp_path / "secrets.env"
    secrets.write_text("DJANGO_SECRET_KEY=x\n")
    env = {"PATH": str(stub_path(tmp_path, ("kubectl",))), "STUB_JOB": job_state, "SECRETS_ENV": str(secrets)}
    result = subprocess.run(
        [K8S / "apply", tree / "overlays" / "production"], env=env, capture_output=True, text=True, timeout=120
    )
    return result, calls(tmp_path)


@pytest.mark.parametrize("job_state", ["complete", "failed"])
def test_make_k8s_apply_waits_for_the_new_release_job_and_never_deletes_the_old(tmp_path, tree, job_state):
    """k8s/apply on release N+1 applies, then waits for N+1's own Job (not N's): once it completes,
    for each rollout; once it has failed, it stops at once (not after a 30 min timeout), says that
    the previous release keeps serving and where to look. It prunes and deletes nothing, so N's Job
    and ReplicaSets stay."""
    for service in IMAGES:
        set_image(tree, "production", service, newTag="9.9.9")
    job = "job.batch/" + migrate_job(kustomize(tree / "overlays" / "production"))["metadata"]["name"]
    started = time.monotonic()
    result, commands = k8s_apply(tmp_path, tree, job_state)

    applied = commands.index(f"kubectl apply -k {tree / 'overlays' / 'production'}")
    has_it_failed = f"kubectl -n polls wait --for=condition=failed --timeout=0 {job}"
    has_it_completed = f"kubectl -n polls wait --for=condition=complete --timeout=10s {job}"
    waits = [has_it_failed] if job_state == "failed" else [has_it_failed, has_it_completed]
    assert commands[applied + 1 : applied + 1 + len(waits)] == waits
    if job_state == "complete":
        assert result.returncode == 0, result.stderr
        rollouts = commands[applied + 3 :]
        assert rollouts == [f"kubectl -n polls rollout status deployment/{d} --timeout=10m" for d in DEPLOYMENTS]
    else:
        assert result.returncode == 1
        assert commands[-1].endswith(f"--for=condition=failed --timeout=0 {job}"), "no rollout waited for"
        assert f"apply: {job} failed after" in result.stderr
        assert "the previous release keeps serving" in result.stderr
        assert f"kubectl -n polls logs {job}" in result.stderr
        assert time.monotonic() - started < 60
    assert not [c for c in commands if " delete " in c or "--prune" in c]
