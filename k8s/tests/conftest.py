"""Render the kustomizations once per test session and share the objects with every test."""

import functools
import itertools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

K8S = Path(__file__).resolve().parent.parent
REPO = K8S.parent
OVERLAYS = ("local", "production")
IMAGES = ("gateway", "web", "api", "worker", "static")  # one release: built together, one tag
DEPLOYMENTS = ("gateway", "web", "api", "worker", "beat", "static")
MIGRATION_GATED = ("web", "api", "worker")  # they read the schema: wait for their release's migrations
COMPONENTS = ("backing-services", "autoscaling", "network-policies", "gateway-api", "loadtest", "backup")


def component_sets() -> list[tuple[str, ...]]:
    """Return every combination of components, the empty one included (2 ** len(COMPONENTS))."""
    return [c for n in range(len(COMPONENTS) + 1) for c in itertools.combinations(COMPONENTS, n)]


def kustomize(directory: Path) -> list[dict]:
    """Render a kustomization with kubectl's built-in kustomize and return its objects."""
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not on PATH: the manifests cannot be rendered")
    result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def render_overlay(name: str) -> tuple[dict, ...]:
    return tuple(kustomize(K8S / "overlays" / name))


@functools.cache
def render_components(components: tuple[str, ...], tmp_root: Path) -> tuple[dict, ...]:
    """Render base plus the given components through a throwaway kustomization."""
    directory = tmp_root / ("base+" + "+".join(components) if components else "base")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                # kustomize refuses absolute paths; relative ones may leave the root.
                "resources": [os.path.relpath(K8S / "base", directory)],
                "components": [os.path.relpath(K8S / "components" / c, directory) for c in components],
            }
        )
    )
    return tuple(kustomize(directory))


@pytest.fixture(scope="session")
def render_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kustomize")


@pytest.fixture(scope="session")
def local() -> tuple[dict, ...]:
    return render_overlay("local")


@pytest.fixture(scope="session")
def production() -> tuple[dict, ...]:
    return render_overlay("production")


@pytest.fixture(scope="session")
def all_renders(render_root) -> dict[str, tuple[dict, ...]]:
    """Return every overlay and every component combination on base, rendered, by name."""
    renders = {f"overlays/{name}": render_overlay(name) for name in OVERLAYS}
    for components in component_sets():
        renders["base+" + "+".join(components)] = render_components(components, render_root)
    return renders


def pod_template(obj: dict) -> dict | None:
    """Return the pod template of a workload object (a CronJob's: of its Jobs), or None."""
    if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return obj["spec"]["template"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return None


def pod_spec(obj: dict) -> dict | None:
    """Return the pod spec of a workload object, or None for anything else."""
    template = pod_template(obj)
    return template and template["spec"]


def workloads(objects) -> list[dict]:
    return [o for o in objects if pod_spec(o) is not None]


def by_kind_name(objects, kind: str, name: str) -> dict:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def migrate_job(objects) -> dict:
    """Return the render's one migrate Job, of its release (migrate-<hash>); the loadtest component adds a Job too."""
    jobs = [o for o in objects if o["kind"] == "Job" and o["metadata"]["namespace"] == "polls"]
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    assert jobs[0]["metadata"]["name"].startswith("migrate-"), jobs[0]["metadata"]["name"]
    return jobs[0]


def set_image(k8s: Path, overlay: str, service: str, **fields) -> None:
    """Set polls/<service>'s newTag or digest in a copy of k8s/'s overlay, as `kustomize edit set image` does."""
    path = k8s / "overlays" / overlay / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    images = kustomization.setdefault("images", [])
    entry = next((i for i in images if i["name"] == f"polls/{service}"), None)
    if entry is None:
        entry = {"name": f"polls/{service}"}
        images.append(entry)
    entry.pop("newTag", None)
    entry.update(fields)
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a compose-style env file (KEY=VALUE lines, # comments)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def polls_config(objects) -> dict[str, str]:
    """Return the data of the stack's ConfigMap (polls-config-<hash>), not the migrate release stamp."""
    (config,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("polls-config")]
    return config["data"]


# What k8s/dev and k8s/apply need from the machine besides the stubs of stub_path.
UTILITIES = ("bash", "env", "git", "date", "cp", "mktemp", "rm", "grep", "awk", "sort", "tr", "dirname", "sleep")


def stub_path(tmp_path: Path, tools: tuple[str, ...]) -> Path:
    """Return a PATH folder with the named stubs plus the utilities, and nothing else."""
    bin_dir = tmp_path / "bin"
    shutil.rmtree(bin_dir, ignore_errors=True)
    bin_dir.mkdir(parents=True)
    for utility in UTILITIES:
        (bin_dir / utility).symlink_to(shutil.which(utility))
    real_kubectl = shutil.which("kubectl")
    for tool in tools:
        script = f'#!/bin/bash\nprintf "%s\\n" "{tool} $*" >> "{tmp_path}/calls"\n'
        if tool == "kubectl":
            script += f'[[ $1 == kustomize ]] && exec {real_kubectl} "$@"\n[[ " $* " == *" get "* ]] && exit 1\n'
            # The migrate Job's state is $STUB_JOB (default complete): kubectl wait for the other
            # condition times out (exit 1).
            script += '[[ " $* " == *" --for=condition=failed "* && ${STUB_JOB:-complete} != failed ]] && exit 1\n'
            script += '[[ " $* " == *" --for=condition=complete "* && ${STUB_JOB:-complete} != complete ]] && exit 1\n'
        if tool == "docker":
            script += f'echo "IMAGE_TAG=$IMAGE_TAG" >> "{tmp_path}/calls"\n'
        (bin_dir / tool).write_text(script + "exit 0\n")
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if not line.startswith("kubectl kustomize")]
