"""The loadtest component's Job: it waits to be started, stops by itself, and its pods share out the
load without sharing a demo account, read with the client's own option parsing; its image runs
that client with what the tests run it with."""

import ast
import importlib.metadata
import json
import re
import subprocess
import sys

import pytest
from conftest import K8S, REPO, by_kind_name, pod_spec

from polls_loadtest.load import cli
from polls_loadtest.load.openloop import LoadSettings
from polls_loadtest.load.scenarios import DEMO_ACCOUNTS

COMPONENT = K8S / "components" / "loadtest"


@pytest.fixture(scope="module")
def rendered(all_renders):
    return all_renders["base+loadtest"]


@pytest.fixture(scope="module")
def job(rendered):
    return by_kind_name(rendered, "Job", "loadtest")


def pod_settings(rendered, job, index: int) -> tuple[list[str], LoadSettings]:
    """The client's arguments in pod `index`, $(VARIABLE)s expanded as the kubelet does, and its settings."""
    (container,) = pod_spec(job)["containers"]
    assert "command" not in container, "the image's entrypoint runs the client"
    env = {"JOB_COMPLETION_INDEX": str(index)}  # set by the Job controller in every pod of an Indexed Job
    for source in container["envFrom"]:
        env |= by_kind_name(rendered, "ConfigMap", source["configMapRef"]["name"])["data"]

    def expand(match: re.Match) -> str:
        assert match[1] in env, f"$({match[1]}) is defined nowhere: the pod would get it verbatim"
        return env[match[1]]

    args = [re.sub(r"\$\(([A-Z_]+)\)", expand, arg) for arg in container["args"]]
    return args, cli.load_settings(cli.parse_args(args))


def test_the_job_waits_to_be_started_and_stops_by_itself(rendered, job):
    """Suspended (adding the component sends nothing); all pods at once; no retries; a deadline that
    covers the schedule, signing in and the drain but not much more; kept a day for its logs."""
    spec = job["spec"]
    assert spec["suspend"] is True
    assert spec["completionMode"] == "Indexed"
    assert spec["parallelism"] == spec["completions"] >= 2, "every pod sends at the same time"
    assert spec["backoffLimit"] == 0 and pod_spec(job)["restartPolicy"] == "Never"
    _, settings = pod_settings(rendered, job, 0)
    drain = settings.timeout + 5  # openloop's default drain
    assert settings.duration + drain + 120 <= spec["activeDeadlineSeconds"] <= 3 * settings.duration + 600
    assert spec["ttlSecondsAfterFinished"] >= 3600, "the figures are in the pods' logs: time to collect them"
    namespace = by_kind_name(rendered, "Namespace", job["metadata"]["namespace"])
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_each_pod_sends_its_share_with_demo_accounts_of_its_own(rendered, job):
    """Pod i uses demo accounts from i x users: the ranges are disjoint and exist in make seed's
    data; every pod sends the same rate to the gateway Service, prints its figures for merge, and
    loadtest.yaml and README.md state the total that comes out."""
    completions = job["spec"]["completions"]
    accounts, rates = set(), []
    for index in range(completions):
        args, settings = pod_settings(rendered, job, index)
        assert {"--allow-remote", "--log-summary"} <= set(args)
        assert settings.target == "http://gateway.polls.svc.cluster.local"
        mine = set(range(settings.first_account, settings.first_account + settings.users))
        assert not mine & accounts, f"pod {index} shares demo accounts with an earlier pod"
        assert mine <= set(range(DEMO_ACCOUNTS)), f"pod {index} signs in as demo accounts make seed does not create"
        accounts |= mine
        rates.append(settings.rate)
    assert len(set(rates)) == 1
    total = f"{completions} x {rates[0]:g} = {sum(rates):g} requests/s, {len(accounts)} accounts"
    for doc in ("loadtest.yaml", "README.md"):
        assert total in " ".join((COMPONENT / doc).read_text().split()), f"{doc} should say {total!r}"
    seed = (REPO / "services" / "domain" / "management" / "commands" / "seed.py").read_text()
    assert f'"--users", type=int, default={DEMO_ACCOUNTS})' in seed, "DEMO_ACCOUNTS is make seed's default"


def test_the_image_runs_the_client_with_the_packages_the_tests_run(job):
    """loadtest/Dockerfile's entrypoint is the client the Job passes options to; requirements.lock
    carries every distribution the client's modules import (report.py aside: the client loads it,
    and matplotlib, only to write a report folder, which the pods do not), at the versions of
    services/requirements-dev.lock."""
    dockerfile = (REPO / "loadtest" / "Dockerfile").read_text()
    (entrypoint,) = re.findall(r"^ENTRYPOINT (.+)$", dockerfile, re.M)
    assert json.loads(entrypoint) == ["python", "-m", "polls_loadtest.load"]
    assert pod_spec(job)["containers"][0]["image"].split(":")[0] == "polls/loadtest"

    def pins(path) -> dict[str, str]:
        return dict(re.findall(r"^([a-z0-9._-]+)==(\S+)", path.read_text(), re.M))

    image, tests = pins(REPO / "loadtest" / "requirements.lock"), pins(REPO / "services" / "requirements-dev.lock")
    assert {name: tests.get(name) for name in image} == image

    owners = importlib.metadata.packages_distributions()
    imported = set()
    for module in (REPO / "loadtest" / "polls_loadtest" / "load").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())) if module.name != "report.py" else ():
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                imported.add(node.module.partition(".")[0])
    third_party = {d.lower() for n in imported - set(sys.stdlib_module_names) - {"polls_loadtest"} for d in owners[n]}
    assert "aiohttp" in third_party and third_party <= set(image), third_party
    probe = "import sys, polls_loadtest.load.cli; print('matplotlib' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", probe], text=True).strip() == "False"
