"""`make k8s-dev` (k8s/dev): the commands it runs for kind, minikube and k3d, checked with stubs.

No cluster tool runs here, so each test puts stub kind/minikube/k3d/kubectl/docker executables
first on PATH. Each stub records its arguments; the kubectl stub hands `kustomize` (an offline
render) to the real kubectl and answers "not found" to `get`, as a fresh cluster would.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DEPLOYMENTS, IMAGES, K8S, REPO, calls, kustomize, migrate_job, set_image, stub_path

TAG = re.compile(r"dev-[0-9a-f]{4,}-\d{14}")


def k8s_dev(tmp_path: Path, tools: tuple[str, ...], *args: str, dry_run: bool) -> subprocess.CompletedProcess:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("DJANGO_SECRET_KEY=x\n")
    env = {"PATH": str(stub_path(tmp_path, tools)), "HOME": str(tmp_path), "SECRETS_ENV": str(secrets)}
    if dry_run:
        env["DRY_RUN"] = "1"
    return subprocess.run([K8S / "dev", *args], env=env, capture_output=True, text=True, timeout=120, cwd=REPO)


def expected_commands(tool: str, context: str, tag: str, job: str, secrets: Path) -> list[str]:
    load = {
        "kind": "kind load docker-image polls/{} --name polls",
        "minikube": "minikube image load polls/{} --profile polls",
        "k3d": "k3d image import polls/{} -c polls",
    }[tool]
    kubectl = f"kubectl --context {context}"
    return [
        f"{kubectl} version --request-timeout=5s",
        f"docker compose build {' '.join(IMAGES)}",
        *[load.format(f"{s}:{tag}") for s in IMAGES],
        f"{kubectl} get namespace polls",
        f"{kubectl} create namespace polls",
        f"{kubectl} -n polls get secret polls-secrets",
        f"{kubectl} -n polls create secret generic polls-secrets --from-env-file={secrets}",
        "APPLY",
        f"{kubectl} -n polls wait --for=condition=failed --timeout=0 job.batch/{job}",
        f"{kubectl} -n polls wait --for=condition=complete --timeout=10s job.batch/{job}",
        *[f"{kubectl} -n polls rollout status deployment/{d} --timeout=10m" for d in DEPLOYMENTS],
    ]


def job_for_tag(tmp_path: Path, tag: str) -> str:
    """Render a copy of k8s/ whose local overlay sets every image to the tag; return the Job's name."""
    copy = tmp_path / "expected"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    for service in IMAGES:
        set_image(copy, "local", service, newTag=tag)
    return migrate_job(kustomize(copy / "overlays" / "local"))["metadata"]["name"]


@pytest.mark.parametrize(("tool", "context"), [("kind", "kind-polls"), ("minikube", "polls"), ("k3d", "k3d-polls")])
def test_up_runs_the_documented_commands(tmp_path, tool, context):
    """The dry run prints, and a run with stubs runs, the same commands: build under a new tag,
    load with the tool's documented command, apply the local overlay with that tag, wait for its
    own migrate Job (not the `dev` tag's) and every rollout, print the URL."""
    dry = k8s_dev(tmp_path, (tool, "kubectl", "docker"), "up", dry_run=True)
    assert dry.returncode == 0, dry.stderr
    assert calls(tmp_path) == [], "a dry run runs nothing"
    tag = TAG.search(dry.stdout).group(0)
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    assert tag.startswith(f"dev-{sha.stdout.strip()}-")

    job = job_for_tag(tmp_path, tag)
    default_job = migrate_job(kustomize(K8S / "overlays" / "local"))["metadata"]["name"]
    assert job != default_job, "the migrate Job must run again for a new build"

    printed = [line[2:] for line in dry.stdout.splitlines() if line.startswith("+ ")]
    printed = [re.sub(r"   # .*$", "", line) for line in printed]
    printed = [line.removeprefix(f"env IMAGE_TAG={tag} ") for line in printed]
    printed = [
        "APPLY" if re.fullmatch(rf"kubectl --context {context} apply -k \S+/overlays/local", p) else p for p in printed
    ]
    secrets = tmp_path / "secrets.env"
    assert printed == expected_commands(tool, context, tag, job, secrets)

    images = re.search(r"^Images in the render: (.*)$", dry.stdout, flags=re.M).group(1).split()
    assert {i for i in images if i.startswith("polls/")} == {f"polls/{s}:{tag}" for s in IMAGES}
    assert f"kubectl --context {context} -n polls port-forward service/gateway 8080:80" in dry.stdout
    assert "http://127.0.0.1:8080/" in dry.stdout

    run = k8s_dev(tmp_path, (tool, "kubectl", "docker"), "up", dry_run=False)
    assert run.returncode == 0, run.stderr
    recorded = calls(tmp_path)
    new_tag = TAG.search(run.stdout).group(0)
    assert f"IMAGE_TAG={new_tag}" in recorded
    recorded = [r for r in recorded if not r.startswith("IMAGE_TAG=")]
    recorded = [
        "APPLY" if re.fullmatch(rf"kubectl --context {context} apply -k \S+/overlays/local", r) else r for r in recorded
    ]
    # The second build has its own tag (a second later at least) and so its own Job.
    assert recorded == expected_commands(tool, context, new_tag, job_for_tag(tmp_path / "second", new_tag), secrets)


def test_the_first_tool_found_wins(tmp_path):
    """kind before minikube before k3d, when several are installed."""
    result = k8s_dev(tmp_path, ("kind", "minikube", "k3d"), "check", dry_run=True)
    assert result.returncode == 0 and "kind, cluster polls (kubectl context kind-polls)" in result.stdout
    result = k8s_dev(tmp_path, ("minikube", "k3d"), "check", dry_run=True)
    assert result.returncode == 0 and "minikube, cluster polls (kubectl context polls)" in result.stdout


@pytest.mark.parametrize("command", ["up", "down"])
def test_without_a_cluster_tool_it_names_what_is_missing(tmp_path, command):
    result = k8s_dev(tmp_path, ("kubectl", "docker"), command, dry_run=True)
    assert result.returncode == 1
    assert "none of kind, minikube or k3d is on PATH" in result.stderr
    assert calls(tmp_path) == []


def test_down_deletes_the_namespace(tmp_path):
    result = k8s_dev(tmp_path, ("k3d", "kubectl"), "down", dry_run=False)
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path) == ["kubectl --context k3d-polls delete namespace polls --ignore-not-found"]
