"""The isolation phase's figures, chart and quotas (pure logic: the phase itself measures, it does
not assert)."""

import pytest
import yaml

from polls_loadtest.bench import isolation, report, wrk
from polls_loadtest.load.recorder import Event, percentile
from polls_loadtest.stack.compose import REPO

WEB, API = isolation.WEB, isolation.API


def event(due: float, latency_ms: float, request: str = WEB, *, status: int | None = 200, reason: str = "") -> Event:
    return Event(due, due, due + latency_ms / 1000, request, status, not reason, reason)


def window(
    web_p99: float, api_p99: float, *, web_failed: int = 0, discarded: bool = False, control_p99: float = 10
) -> dict:
    """A probe window as the phase records it, reduced to what the summary reads."""
    timeline = {"t": [0, 1], "p99_ms": [web_p99, None]}

    def figures(p99: float, failed: int = 0) -> dict:
        # 100 requests: 98 at the p50, the 2 slowest at the p99
        return {"p50_ms": p99 / 2, "p99_ms": p99, "failed": failed, "latencies_ms": [p99 / 2] * 98 + [p99] * 2}

    return {
        "web": figures(web_p99, web_failed),
        "api": figures(api_p99),
        "control": figures(control_p99),
        "timeline": {"web": timeline, "api": timeline},
        "host_busy_pct": 50.0,
        "probe_p99_schedule_lag_ms": 1.0,
        "discarded": discarded,
    }


def repeat(quiet: dict | None = None, api_flood: dict | None = None, export_flood: dict | None = None) -> dict:
    """One repeat of a side: its three windows, quiet ones where none is given."""
    quiet, api_flood, export_flood = (w or window(10, 10) for w in (quiet, api_flood, export_flood))
    return {"quiet": quiet, "API flood": api_flood, "export flood": export_flood}


def test_request_figures_count_one_request_and_name_each_failure():
    """Latency runs from the scheduled time; a timeout has no status and is named by its reason."""
    events = [event(i / 100, 10 + i) for i in range(99)]
    events.append(event(0.5, 5000, status=None, reason="timeout after 5 s"))
    events.append(event(0.5, 1, API))
    figures = isolation.request_figures(events, WEB)
    assert figures["count"] == 100
    assert figures["failed"] == 1
    assert figures["p99_ms"] == pytest.approx(108.0)
    assert figures["max_ms"] == pytest.approx(5000.0)
    assert figures["statuses"] == {"200": 99, "timeout after 5 s": 1}


def test_per_second_p99_files_requests_by_their_scheduled_second():
    events = [event(0.1, 10), event(0.9, 30), event(2.5, 20), event(1.5, 99, API)]
    seconds = isolation.per_second_p99(events, WEB, 3)
    assert seconds == {"t": [0, 1, 2], "p99_ms": [30.0, None, 20.0]}


def test_summary_pairs_each_flood_with_the_quiet_window_of_its_repeat():
    """Ratios are per repeat; a repeat with a discarded window is left out; web errors fail the target."""
    runs = {
        "decomposed": [
            repeat(window(10, 20), window(15, 90), window(11, 25)),
            repeat(window(20, 10), window(30, 90), window(22, 14)),
            repeat(api_flood=window(99, 99, discarded=True)),
        ],
        "monolith": [repeat(api_flood=window(500, 500, web_failed=3), export_flood=window(10, 12))],
    }
    figures = isolation.summarise(runs)
    web = figures["decomposed"]["web"]
    assert web["ratio"]["n"] == 2 and web["ratio"]["median"] == pytest.approx(1.5)
    assert web["quiet_p99_ms"]["median"] == pytest.approx(15)
    assert web["met"] and web["errors"] == 0
    api = figures["decomposed"]["api"]
    assert api["flood"] == "export flood"
    assert api["ratio"]["n"] == 3 and api["ratio"]["median"] == pytest.approx(1.25)
    assert api["met"]
    monolith = figures["monolith"]["web"]
    assert monolith["ratio"]["median"] == pytest.approx(50) and monolith["errors"] == 3
    assert not monolith["met"]


def test_the_target_is_judged_on_the_p99_of_every_request_of_the_kept_repeats():
    """The pooled p99s are those of every request of the kept repeats; a discarded repeat's stay out."""
    runs = {
        "decomposed": [
            repeat(api_flood=window(15, 10)),
            repeat(window(20, 10), window(30, 10)),
            repeat(api_flood=window(99, 10, discarded=True)),
        ]
    }
    pooled = isolation.summarise(runs)["decomposed"]["web"]["pooled"]
    quiet = sorted([5.0] * 98 + [10.0] * 2 + [10.0] * 98 + [20.0] * 2)
    flooded = sorted([7.5] * 98 + [15.0] * 2 + [15.0] * 98 + [30.0] * 2)
    assert pooled["requests"] == {"quiet": 200, "flooded": 200}
    assert pooled["quiet_p99_ms"] == percentile(quiet, 99) == 10.0
    assert pooled["flooded_p99_ms"] == percentile(flooded, 99) == 15.0
    assert pooled["ratio"] == 1.5


def test_a_pooled_ratio_over_the_target_misses_it_whatever_the_repeats_say():
    """One repeat in three had a flood with 10 % slow requests: the median of the repeats' ratios is
    x1.0, but those are 3 % of all flooded requests, so the p99 over them all is x2.5."""
    runs = {"decomposed": []}
    for slow in (10, 0, 0):
        flooded = window(25 if slow else 10, 10)
        if slow:
            flooded["web"]["latencies_ms"] = [5.0] * (100 - slow) + [25.0] * slow
        runs["decomposed"].append(repeat(api_flood=flooded))
    web = isolation.summarise(runs)["decomposed"]["web"]
    assert web["ratio"]["median"] == pytest.approx(1.0)
    assert web["pooled"]["ratio"] == 2.5 and not web["met"]


def test_the_control_gets_its_own_pooled_ratio_over_the_same_kept_windows_and_judges_nothing():
    """The control's ratio sits beside each probe's, from the same repeats (a discarded one stays
    out); a control as slow as the probe leaves the probe's verdict alone."""
    runs = {
        "decomposed": [
            repeat(api_flood=window(30, 10, control_p99=25)),
            repeat(api_flood=window(99, 10, control_p99=99, discarded=True)),
        ]
    }
    web = isolation.summarise(runs)["decomposed"]["web"]
    assert web["control"]["ratio"] == 2.5 and web["control"]["requests"] == {"quiet": 100, "flooded": 100}
    assert web["pooled"]["ratio"] == 3.0 and not web["met"]
    assert web["over_control"] == 1.2
    api = isolation.summarise(runs)["decomposed"]["api"]
    assert api["control"]["ratio"] == 1.0  # the export flood's windows: control at 10 ms in both


def test_windows_recorded_before_the_control_existed_summarise_without_it():
    one = repeat(api_flood=window(15, 10))
    for w in one.values():
        del w["control"]
    web = isolation.summarise({"decomposed": [one]})["decomposed"]["web"]
    assert web["control"] == {} and web["pooled"]["ratio"] == 1.5 and web["over_control"] is None


def test_web_errors_under_the_api_flood_miss_the_target_whatever_the_ratio():
    runs = {"decomposed": [repeat(api_flood=window(11, 10, web_failed=1))]}
    assert not isolation.summarise(runs)["decomposed"]["web"]["met"]


def test_chart_timelines_lay_the_last_repeats_windows_end_to_end_each_line_broken_after_a_window():
    one = repeat(api_flood=window(20, 10), export_flood=window(30, 10))
    timelines = isolation.chart_timelines({"decomposed": [one]}, gap=2)
    step, end = isolation.WINDOW_SECONDS + 2, isolation.WINDOW_SECONDS
    web = timelines["sides"]["decomposed"]["web"]
    assert web["t"] == [0, 1, end, step, step + 1, step + end, 2 * step, 2 * step + 1, 2 * step + end]
    assert web["p99_ms"] == [10, None, None, 20, None, None, 30, None, None]
    assert [w["label"] for w in timelines["windows"]] == list(isolation.CONDITIONS)
    assert timelines["windows"][1] == {"label": "API flood", "start": step, "end": step + isolation.WINDOW_SECONDS}


def test_flood_outcome_reports_what_wrk_got_against_the_capacity():
    result = wrk.WrkResult(
        url="http://x/api/polls/", rps=688.27, requests=8259, errors=3, latency_ms={"p99": 61.2}, client_cpu=0.041
    )
    outcome = isolation.flood_outcome(result, capacity=685.4)
    assert outcome["answered_per_second"] == 688.3
    assert outcome["capacity_per_second"] == 685.4
    assert outcome["errors"] == 3 and outcome["latency_ms"] == {"p99": 61.2}
    assert outcome["client_cpu_pct"] == 4.1 and outcome["connections"] == isolation.FLOOD_CONNECTIONS


def cpu_limit(service: str) -> float:
    """The CPU limit of a service's own container in its Kubernetes base manifest, in CPUs."""
    for doc in yaml.safe_load_all((REPO / "k8s" / "base" / f"{service}.yaml").read_text()):
        if doc and doc["kind"] == "Deployment":
            (container,) = [c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == service]
            text = str(container["resources"]["limits"]["cpu"])
            return int(text[:-1]) / 1000 if text.endswith("m") else float(text)
    raise AssertionError(f"no Deployment in k8s/base/{service}.yaml")


@pytest.mark.parametrize("service", ["gateway", "static", "web", "api", "worker"])
def test_bench_quotas_are_half_the_kubernetes_limits(service):
    """The bench's per-service quotas keep the Kubernetes limits' proportions on a 2-core host: a
    limit changed in k8s/base fails here until bench.yml follows (issue 11, item 4)."""
    assert isolation.bench_quotas()[service] == pytest.approx(cpu_limit(service) / 2)


def test_the_monolith_gets_what_web_and_api_get_together():
    quotas = isolation.bench_quotas()
    assert quotas["monolith"] == pytest.approx(quotas["web"] + quotas["api"])


def test_the_report_shows_the_isolation_table_and_draws_its_chart(tmp_path, bench_result):
    one = repeat(api_flood=window(12, 10, control_p99=13), export_flood=window(10, 11))
    for row in one.values():
        row["cpu_cores"] = {"worker": 0.5}
    one["API flood"]["flood"] = isolation.flood_outcome(
        wrk.WrkResult(url="x", rps=190, requests=2090, errors=5, latency_ms={"p99": 80.0}, client_cpu=0.05),
        capacity=200.0,
    )
    one["export flood"]["exports"] = {"queued": 1950, "done": 1950, "exports_per_second": 130.0}
    runs = {"decomposed": [one], "monolith": [one]}
    phase = {
        "quotas": isolation.bench_quotas(),
        "window_seconds": isolation.WINDOW_SECONDS,
        "probe_rate": isolation.PROBE_RATE,
        "api_capacity": {"decomposed": 200.0, "monolith": 400.0},
        "flood_connections": isolation.FLOOD_CONNECTIONS,
        "export_backlog": isolation.EXPORT_BACKLOG,
        "runs": runs,
        "figures": isolation.summarise(runs),
        "timelines": isolation.chart_timelines(runs),
    }
    report.write(bench_result({"isolation": phase}), tmp_path)
    text = (tmp_path / "bench.md").read_text()
    assert (
        "| decomposed | web home page, API flood | 10 / 12 ms (100 / 100 requests) | **x1.2** | x1.20 (1.20-1.20, n=1) "
        "| x1.3; the probe's over it: 0.92 |" in text
    )
    assert "| 5.0 ms (5.0-5.0, n=1) / 6.0 ms (6.0-6.0, n=1) |" in text
    assert "| 50 % (50-50, n=1) / 50 % (50-50, n=1) | 1.0 ms (1.0-1.0, n=1) | <= x2, 0 errors | met |" in text
    assert "answered 190/s against a capacity of 200/s; 5 errors; flood p99 80 ms; wrk CPU 5 % of a core" in text
    assert "1950/1950 built at 130.0/s in 15.0 s" in text
    assert "(isolation.svg)" in text
    assert f"Export flood: {isolation.EXPORT_BACKLOG} exports queued" in text
    assert (tmp_path / "isolation.svg").read_text().lstrip().startswith("<?xml")
