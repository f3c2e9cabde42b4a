"""The arithmetic behind `make bench` and `make capacity`: USL fit, connection budget, spreads.

Pure logic only: the benchmark itself is not a test (it measures, it does not assert).
"""

import json
import re

import pytest
import yaml

from polls_loadtest.bench import capacity, cli, phases, report
from polls_loadtest.bench.budget import connection_budget
from polls_loadtest.bench.capacity import CONFIG_ENV, MAX_CONNECTIONS, REFERENCE, plan, read_env, reference_of, render
from polls_loadtest.bench.celery_figures import export_figures
from polls_loadtest.bench.stats import ratio, spread
from polls_loadtest.bench.usl import USL, efficiency, fit
from polls_loadtest.stack.compose import REPO

# The services of the stacks' compose file and of the bench's override.
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
BENCH = yaml.safe_load((REPO / "loadtest" / "compose" / "bench.yml").read_text())["services"]


def test_fit_recovers_a_known_curve():
    """Points drawn from a USL curve give back its coefficients."""
    truth = USL(100, sigma=0.05, kappa=0.002)
    curve = fit({n: truth.throughput(n) for n in (1, 2, 4, 8, 16)})
    assert curve.sigma == pytest.approx(0.05, rel=1e-6)
    assert curve.kappa == pytest.approx(0.002, rel=1e-6)


def test_two_points_fix_sigma_with_no_crosstalk():
    """With 1 and 2 replicas only, kappa is 0 and sigma explains the loss (Amdahl)."""
    curve = fit({1: 100, 2: 160})
    assert curve.kappa == 0
    assert curve.sigma == pytest.approx(0.25)
    assert curve.throughput(2) == pytest.approx(160)


def test_linear_scaling_needs_target_over_one_replica():
    curve = fit({1: 100, 2: 200})
    assert curve.sigma == 0
    assert curve.replicas_for(350) == 4


def test_replicas_past_the_peak_are_unreachable():
    """A curve with crosstalk peaks; a target above the peak has no replica count."""
    curve = USL(100, sigma=0.1, kappa=0.01)
    assert curve.peak_replicas == pytest.approx(9.49, abs=0.01)
    assert curve.replicas_for(10_000) is None


def test_fit_needs_one_replica():
    with pytest.raises(ValueError):
        fit({2: 100})


def test_efficiency():
    assert efficiency(100, 180) == pytest.approx(0.9)


# 2 gunicorn workers x 8 threads with a pool of 4, 2 Celery children, PostgreSQL's limit 100.
SETTINGS = dict(gunicorn_workers=2, gunicorn_threads=8, pool_size=4, celery_concurrency=2, max_connections=100)


def test_connection_budget_counts_pools_and_celery_children():
    """web/api: workers x pool size per replica; worker: concurrency; beat and migrate one each."""
    budget = connection_budget({"web": 3, "api": 4, "worker": 2}, **SETTINGS)
    assert budget.by_service == {"web": 24, "api": 32, "worker": 4, "beat": 1, "migrate": 1}
    assert budget.total == 62
    assert budget.usable == 97
    assert not budget.needs_pooler
    # Without a pool, each thread holds its own connection.
    threads = connection_budget({"web": 1}, **SETTINGS | {"pool_size": 0})
    assert threads.by_service["web"] == 16


def test_connection_budget_warns_before_the_limit():
    budget = connection_budget({"web": 5, "api": 5}, **SETTINGS)
    assert budget.total == 82 and budget.needs_pooler and not budget.over_limit
    assert connection_budget({"api": 20}, **SETTINGS).over_limit


def _max_replicas(path: str) -> dict[str, int]:
    """Return {Deployment: most replicas} from the HPAs and KEDA ScaledObjects in a manifest."""
    most = {}
    for doc in yaml.safe_load_all((REPO / path).read_text()):
        spec = (doc or {}).get("spec", {})
        if count := spec.get("maxReplicas") or spec.get("maxReplicaCount"):
            most[spec["scaleTargetRef"]["name"]] = count
    return most


def test_the_autoscaling_maxima_fit_postgres_with_margin():
    """At every autoscaler's maximum, the connections stay under the pooler threshold.

    Holds together k8s/components/autoscaling (maxima), config.env (workers, pool size, Celery
    concurrency) and PostgreSQL's max_connections in compose and Kubernetes.
    """
    manifests = ("hpa.yaml", "worker-scaledobject.yaml", "worker-cpu-fallback.yaml")
    maxima: dict[str, int] = {}
    for name in manifests:
        for service, count in _max_replicas(f"k8s/components/autoscaling/{name}").items():
            maxima[service] = max(count, maxima.get(service, 0))
    for path in ("docker-compose.yml", "k8s/components/backing-services/postgres.yaml"):
        assert re.findall(r"max_connections=(\d+)", (REPO / path).read_text()) == [str(MAX_CONNECTIONS)], path
    env = read_env(CONFIG_ENV)
    budget = connection_budget(
        {service: maxima[service] for service in ("web", "api", "worker")},
        gunicorn_workers=int(env["GUNICORN_WORKERS"]),
        gunicorn_threads=int(env["GUNICORN_THREADS"]),
        pool_size=int(env["POSTGRES_POOL_SIZE"]),
        celery_concurrency=int(env["CELERY_WORKER_CONCURRENCY"]),
        max_connections=MAX_CONNECTIONS,
    )
    assert not budget.needs_pooler, f"{budget.total} of {budget.usable} connections at the maxima {maxima}"


def test_the_bench_measures_the_configuration_make_up_load_runs():
    """The bench stack is `make up LOAD=1`'s files plus loadtest/compose/bench.yml, which adds CPU
    quotas and the host allow-list (the load generator uses container addresses) to the services
    both run, and nothing else: the bench's figures are those of the defaults."""
    make_up_load = re.search(r"^up stack-up: export COMPOSE_FILE := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert make_up_load, "the Makefile's LOAD=1 compose files"
    assert phases.STACK.files.startswith(make_up_load[1] + ":")
    for name in set(COMPOSE) & set(BENCH):
        extra = dict(BENCH[name])
        limits = extra.pop("deploy", {}).get("resources", {}).get("limits", {})
        assert set(limits) <= {"cpus"}, (name, limits)
        assert set(extra.pop("environment", {})) <= {"DJANGO_ALLOWED_HOSTS"}, name
        assert set(extra) <= {"cpus"}, (name, extra)


def test_spread_and_ratio():
    s = spread([10, 12, 11])
    assert s == {"n": 3, "median": 11.0, "min": 10.0, "max": 12.0, "spread_pct": 18.2}
    assert spread([]) == {"n": 0}
    assert ratio({"median": 50}, {"median": 100}) == 0.5
    assert ratio({"n": 0}, {"median": 100}) is None


def test_export_figures_span_from_first_start_to_last_finish():
    rows = [
        {"status": "done", "created": 0.0, "started": 1.0, "finished": 1.5},
        {"status": "done", "created": 0.0, "started": 1.2, "finished": 3.0},
        {"status": "pending", "created": 0.0, "started": None, "finished": None},
    ]
    figures = export_figures(rows)
    assert figures["done"] == 2 and figures["unfinished"] == 1
    assert figures["exports_per_second"] == 1.0  # 2 exports from t=1.0 to t=3.0
    assert figures["queue_wait_ms"]["p50"] == 1000.0


TARGET = capacity.Target(
    rps=300, p99_ms=50, shares={"web": 0.6, "api": 0.4}, exports_per_request=0.01, max_connections=200
)


def _report() -> dict:
    """A complete bench report as far as a plan reads it, with one phase a plan does not read."""
    return {
        "started_at": "2026-12-01T10:00:00+00:00",
        "commit": "abc1234",
        "machine": {"cores": 2, "cpu_model": "Test CPU", "load_average": [0.5, 0.5, 0.5]},
        "phases": {
            "api_scaling": {
                "quota_per_replica": 0.3,
                "rps": {"1": {"n": 3, "median": 100}, "2": {"n": 3, "median": 180}},
            },
            "workers": {
                "quota_per_worker": 0.3,
                "exports_per_second": {"1": {"n": 2, "median": 20}, "2": {"n": 2, "median": 40}},
            },
            "latency": {"latency_ms": {"p99": {"n": 3, "median": 30}}},
            "cost": {"cpu_ms_per_request": {"web": {"median": 5}, "api": {"median": 10}}, "runs": [1, 2]},
            "static": {"rps": {}},
        },
    }


def test_capacity_plan_from_a_report():
    """Replicas come from the fitted curve at 50 % utilisation; the budget follows from them."""
    result = plan(_report(), TARGET, env={})
    assert result["latency_target_known_met"]
    # Replicas are counted in the size they were measured at, and the printed plan says so.
    assert {s["replica_cpu"] for s in result["services"].values()} == {0.3}
    assert "3 replica(s) at 0.3 CPU" in render(result)
    # api: 120/s at 50 % -> 240/s of capacity; X(3) = 300/1.22 = 245.9 with sigma 1/9.
    assert result["services"]["api"]["replicas"] == 3
    # web: one replica does 200/s (half api's CPU per request); 180/s at 50 % -> 360/s -> 2.
    assert result["services"]["web"]["replicas"] == 2
    assert result["services"]["worker"]["replicas"] == 1
    # Per replica: 2 gunicorn workers x a pool of 2 (the default); a worker child holds one.
    assert result["postgres"]["total"] == 2 * 4 + 3 * 4 + 2 + 2


def test_the_reference_keeps_what_a_plan_reads_and_where_it_was_measured():
    reference = reference_of(_report())
    assert set(reference["phases"]) == {"api_scaling", "workers", "latency", "cost"}
    assert "runs" not in reference["phases"]["cost"]
    assert reference["commit"] == "abc1234" and reference["machine"]["cores"] == 2
    assert plan(reference, TARGET, env={}) == plan(_report(), TARGET, env={})
    incomplete = _report()
    del incomplete["phases"]["workers"]
    with pytest.raises(ValueError, match="missing workers"):
        reference_of(incomplete)


def test_capacity_without_a_local_run_plans_from_the_committed_reference(monkeypatch, capsys):
    """A fresh clone has no bench-latest: `make capacity` plans from reference.json and says so."""
    monkeypatch.setattr(capacity, "LATEST", REPO / "loadtest" / "reports" / "no-such-run" / "bench.json")
    assert capacity.main(["--target-rps", "100", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert "committed reference run" in err and capacity.measured_on(json.loads(REFERENCE.read_text())) in err
    # The committed run holds every figure a plan needs.
    assert all("error" not in service for service in result["services"].values()), result["services"]


def test_amdahl_ceiling_makes_a_high_target_unreachable():
    """sigma > 0 without crosstalk caps throughput at lambda / sigma; above it, no count helps."""
    curve = fit({1: 100, 2: 160})  # sigma 0.25: ceiling 400/s
    assert curve.ceiling == pytest.approx(400)
    assert curve.replicas_for(390) is not None
    assert curve.replicas_for(401) is None
    assert curve.throughput(curve.practical_max()) >= 360


def test_queue_wait_counts_from_the_broker_taking_the_task_when_known():
    rows = [{"status": "done", "created": 0.0, "queued": 0.5, "started": 1.0, "finished": 2.0}]
    assert export_figures(rows)["queue_wait_ms"]["p50"] == 500.0


def test_retrograde_points_become_crosstalk():
    """Two replicas slower than one: sigma stops at 1 and kappa explains the rest; one is best."""
    curve = fit({1: 72, 2: 68})
    assert curve.sigma == 1.0 and curve.kappa > 0
    assert curve.throughput(2) == pytest.approx(68)
    assert curve.ceiling == pytest.approx(72)
    assert curve.replicas_for(80) is None and curve.replicas_for(50) == 1


def test_the_monolith_and_the_floor_are_probed_like_web_and_api():
    """Docker runs health probes on the container's own CPU quota: both sides of a comparison pay alike."""
    probe = BENCH["monolith"]["healthcheck"]["test"]
    assert probe == COMPOSE["web"]["healthcheck"]["test"] == COMPOSE["api"]["healthcheck"]["test"]
    assert BENCH["floor"]["healthcheck"]["test"] == probe
    assert probe[:2] == ["CMD", "bash"], "a shell probe: starting Python in the container costs ~45 ms of CPU"


def test_the_floor_runs_with_the_apis_port_quota_and_gunicorn_settings():
    """The floor differs from the api only in what Django does per request (config.settings.floor)."""
    floor, api = BENCH["floor"], BENCH["api"]
    assert floor["cpus"] == api["cpus"]
    assert floor["environment"]["PORT"] == "8001"
    assert floor["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.floor"
    # gunicorn's settings come from config.env (GUNICORN_*), the same file the api reads first.
    assert floor["env_file"][0] == "config.env"
    assert not any(key.startswith("GUNICORN_") for key in floor["environment"])
    assert phases.API_QUOTAS["api"] == phases.FLOOR_QUOTAS["floor"]


def test_a_chosen_phase_brings_what_it_needs_in_the_order_they_run():
    """latency uses the gateway's capacity, which comes from the floor's runs; cost, figures from
    mixed, comes with it and never alone; a phase without load of its own cannot be chosen."""
    assert cli.chosen(["latency"]) == ["floor", "gateway", "latency"]
    assert cli.chosen(["floor"]) == ["floor", "gateway"]
    assert cli.chosen(["mixed", "static"]) == ["static", "mixed", "cost"]
    assert "cost" not in cli.chosen(["floor"])
    assert "gateway" not in cli.CHOICES and "cost" not in cli.CHOICES


def wrk_row(rps: float, *, api_cpu: float = 1.0, seconds: float = 5) -> dict:
    """One wrk run as phases._wrk records it."""
    requests = int(rps * seconds)
    return {
        "rps": rps,
        "requests": requests,
        "errors": 0,
        "discarded": False,
        "cpu_seconds": {"api": api_cpu / 1000 * requests},
        "host_busy_pct": 50,
    }


def test_the_gateway_figure_comes_from_the_floors_runs_of_the_list(bench_result):
    floor = {
        "runs": {
            "API list": [wrk_row(400), wrk_row(420)],
            "API list, direct": [wrk_row(500), wrk_row(480)],
        },
        "ratio_to_floor": {"floor, through a gateway": 0.8},
    }
    b = phases.Bench(phases.Plan(), print, done={"floor": floor})
    gateway = phases.gateway_vs_direct(b)
    assert gateway["rps"]["through gateway"]["median"] == 410
    assert gateway["ratio"] == pytest.approx(round(410 / 490, 3))
    assert gateway["met"] is False  # 0.837 < 0.85
    assert gateway["floor_ratio"] == 0.8  # the bare view's own hop, beside it, judged by nothing
    row = next(line for line in report.markdown(bench_result({"gateway": gateway})).splitlines() if "| 2 |" in line)
    assert "**0.837** (the floor's bare view: 0.8) | 0.85 | **not met** |" in row
    assert phases._half_capacity(phases.Bench(phases.Plan(), print, done={"gateway": gateway})) == 205


def test_the_trials_table_compares_each_setting_with_config_env():
    runs = {
        trial: [wrk_row(rps, api_cpu=ms)]
        for trial, rps, ms in zip(phases.TRIALS, (600, 300, 660), (1.6, 3.2, 1.4), strict=True)
    }
    trials = phases.trial_figures(runs)
    rows = {line.split(" | ")[0].strip("| "): line for line in report._trials(trials) if line.startswith("| ")}
    assert rows["throttles off"].startswith("| throttles off | 660.0 (660.0-660.0, n=1) | 1.1 | 1.40 ms")
    assert rows[phases.DEFAULT_TRIAL].split(" | ")[2] == "1.0"
    assert rows["1 worker x 8 threads"].split(" | ")[2] == "0.5"


def test_the_votes_table_marks_each_target_on_its_own_row():
    """The hit ratio and the p99 each say whether they met their target (one can miss alone)."""
    figure = {"n": 3, "min": 0, "max": 0}
    votes = {
        "rate": 70,
        "capacity_rps": 140,
        "hit_ratio": {"list": {**figure, "median": 0.98}, "poll": {**figure, "median": 0.8}},
        "p99_ms": {**figure, "median": 64.6},
        "vote_share": {**figure, "median": 0.08},
        "vote_cpu_ms": {"api": {**figure, "median": 16}},
        "target_hit_ratio": 0.95,
        "target_p99_ms": 50,
    }
    rows = {line.split(" | ")[0].strip("| "): line for line in report._votes(votes) if line.startswith("| ")}
    assert rows["list cache hit ratio"].endswith("| met |")
    assert rows["p99, every request of the mix"].endswith("| **not met** |")


def test_the_profile_counts_only_request_threads_and_ranks_functions_by_own_and_inclusive_time():
    from polls_loadtest.bench import profile

    raw = "\n".join(
        [
            "run (gunicorn/arbiter.py:1);sleep (time) 500",  # the arbiter: not a request
            "worker (t.py:1);handle_request (gunicorn/gthread.py:2);view (api/views.py:3);get (cache.py:4) 30",
            "worker (t.py:1);handle_request (gunicorn/gthread.py:2);view (api/views.py:3) 10",
            "worker (t.py:1);handle_request (gunicorn/gthread.py:2);dumps (json.py:5) 60",
        ]
    )
    top = profile._top(profile._working_stacks(raw))
    assert top["samples"] == 100
    assert top["own_pct"][:3] == [
        ["dumps (json.py:5)", 60.0],
        ["get (cache.py:4)", 30.0],
        ["view (api/views.py:3)", 10.0],
    ]
    inclusive = dict(top["inclusive_pct"])
    assert inclusive["view (api/views.py:3)"] == 40.0
    assert "handle_request (gunicorn/gthread.py:2)" not in inclusive  # in every sample: says nothing


def test_the_report_links_each_flame_graph_or_says_why_there_is_none():
    read = {
        "url": "http://gw/api/polls/",
        "rps": 512.3,
        "latency_ms": {"p99": 40.0},
        "samples": 100,
        "own_pct": [["dumps (json.py:5)", 60.0]],
        "inclusive_pct": [["handle_request (gunicorn/gthread.py:2)", 100.0]],
    }
    text = "\n".join(report._profile({"seconds": 10, "reads": {"api-list": read}}))
    assert "### api-list: [api-list.svg](api-list.svg)" in text
    assert "| 60.0 % | `dumps (json.py:5)` | | 100.0 % | `handle_request (gunicorn/gthread.py:2)` |" in text
    skipped = "\n".join(report._profile({"skipped": "py-spy needs root"}))
    assert "Not measured: py-spy needs root." in skipped and ".svg" not in skipped


def test_the_report_gives_each_phases_time(bench_result):
    result = bench_result(
        {
            "trials": {"quotas": {"api": 0.5}, "rps": {}, "phase_seconds": 131.4},
            "profile": {"skipped": "py-spy needs root", "phase_seconds": 0.2},
        }
    )
    text = report.markdown(result)
    assert '- trials (131 s): `{"api": 0.5}`\n- profile (0 s)\n' in text
