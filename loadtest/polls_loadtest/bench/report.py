"""Write the benchmark as bench.json (everything) and bench.md (the figures side by side)."""

import json
from pathlib import Path

from polls_loadtest.bench import isolation_chart


def _s(spread: dict, unit: str = "", digits: int = 1) -> str:
    """Format a spread as "median (min-max, n runs)"."""
    if not spread or not spread.get("n"):
        return "no valid run"
    median, low, high = (f"{spread[key]:.{digits}f}" for key in ("median", "min", "max"))
    return f"{median}{unit} ({low}-{high}, n={spread['n']})"


def _scaling(phase: dict, compared: str, quota: str, unit: str, figure: str) -> str:
    """Item 4's row: 1 vs 2 replicas (`figure`, at `quota`), the efficiency, and how busy the whole host
    was with 2 (near 100 %, the host was the limit)."""
    busy, per_side = phase["host_busy_pct"].get("2", {}), phase[figure]
    host = f"; host {busy['median']:.0f} % busy with 2" if busy.get("n") else ""
    return (
        f"| 4 | {compared} ({phase[quota]} CPU each), {unit} | {_s(per_side['1'])} vs {_s(per_side['2'])}: "
        f"efficiency **{phase['efficiency']}**{host} | 0.8 | {_met(phase['met'])} |"
    )


def _met(flag: bool | None) -> str:
    return "met" if flag else "**not met**"


def _section(title: str, header: str, text: str = "") -> list[str]:
    """The opening of a section of bench.md: its title, a paragraph if any, and its table's header."""
    return ["", f"## {title}", "", *([text, ""] if text else []), header, "|---" * (header.count("|") - 1) + "|"]


def markdown(r: dict) -> str:
    m, p = r["machine"], r["phases"]
    lines = [
        "# Benchmark report (`make bench`)",
        "",
        f"Run {r['started_at']} for {r['seconds']:.0f} s. Figures are medians, with (min-max, n runs);",
        "runs where the load generator used over 70 % of one core are left out and counted.",
        "",
        f"**Machine:** {m['cores']} cores, {m['cpu_model']}, {m['memory_gb']} GB, kernel {m['kernel']}. "
        f"Load average before {m['load_average']}, after {r['load_after']}.",
    ]
    if r.get("error"):
        lines.append(f"**The run stopped early:** {r['error']}. The figures below are those measured before.")
    if r.get("busy"):
        lines.append(
            f"**The machine was busy** (load average above the core count): {r['busy']}. "
            "Treat these figures as preliminary."
        )
    lines += ["", "**Versions:** " + "; ".join(f"{k} {v}" for k, v in r["versions"].items()), ""]
    lines += ["| # | figure | result | target | |", "|---|---|---|---|---|"]
    if s := p.get("static"):
        lines.append(
            f"| 1 | static service vs Django static, req/s ({s['asset']}) | "
            f"{_s(s['rps']['static service'])} vs {_s(s['rps']['django (one gunicorn)'])}: "
            f"**x{s['ratio']}** | x10 | {_met(s['met'])} |"
        )
    if g := p.get("gateway"):
        lines.append(
            f"| 2 | API list through gateway vs direct, req/s | {_s(g['rps']['through gateway'])} vs "
            f"{_s(g['rps']['direct to api'])}: **{g['ratio']}** (the floor's bare view: {g.get('floor_ratio', '-')}) "
            f"| 0.85 | {_met(g['met'])} |"
        )
    if lat := p.get("latency"):
        ms = lat["latency_ms"]
        lines.append(
            f"| 3 | API read latency at {lat['rate']}/s (50 % of {lat['capacity_rps']:.0f}/s), open loop | "
            f"p50 {_s(ms['p50'], ' ms')}, **p99 {_s(ms['p99'], ' ms')}**, p99.9 {_s(ms['p99_9'], ' ms')} | "
            f"p99 <= 50 ms | {_met(lat['met'])} |"
        )
    if "api_scaling" in p:
        lines.append(_scaling(p["api_scaling"], "api 1 vs 2 replicas", "quota_per_replica", "req/s", "rps"))
    if "workers" in p:
        lines.append(_scaling(p["workers"], "worker 1 vs 2", "quota_per_worker", "exports/s", "exports_per_second"))
    if x := p.get("mixed"):
        lines.append(
            f"| 5 | mixed journeys at saturation, decomposed, req/s | {_s(x['throughput']['decomposed'])} | "
            "restated as isolation (below) | measured |"
        )
    if w := p.get("workers"):
        st = w["steady"]
        qw = st.get("queue_wait_ms", {})
        lines.append(
            f"| 6 | Celery: exports/s (2 workers); queue wait at {st['rate']}/s | "
            f"{_s(w['exports_per_second']['2'])}; wait p50 {qw.get('p50')} ms, p99 {qw.get('p99')} ms "
            f"({st['done']}/{st['queued']} done) | reported | |"
        )
    if c := p.get("cost"):
        cpu = ", ".join(f"{k} {_s(v, ' ms', 2)}" for k, v in c["cpu_ms_per_request"].items())
        lines.append(f"| 7 | CPU per request (ms of CPU) | {cpu} | reported | |")
        mem = ", ".join(
            f"{n.removeprefix('polls-bench-')} {v['at_rest_mb']:.0f}/{v['under_load_mb']:.0f} MB"
            for n, v in c["memory"].items()
            if v["limit_mb"]
        )
        lines.append(
            f"| 7 | memory at rest / under load | {mem} | web, api < 250 MB; gateway, static < 30 MB | "
            f"{_met(c['memory_met'])} |"
        )
    # Then a section, with a table of its own, for each of these phases that ran.
    sections = {"trials": _trials, "votes": _votes, "floor": _floor, "isolation": _isolation, "profile": _profile}
    for name, section in sections.items():
        if p.get(name):
            lines += section(p[name])
    discarded = r.get("discarded_runs", 0)
    lines += ["", f"Runs discarded because the load generator topped 70 % of a core: {discarded}.", ""]
    lines += ["## Each phase: its time and CPU quotas", ""]
    for name, phase in p.items():
        quotas = phase.get("quotas") or {k: v for k, v in phase.items() if k.startswith("quota")}
        took = f" ({phase['phase_seconds']:.0f} s)" if "phase_seconds" in phase else ""
        lines.append(f"- {name}{took}" + (f": `{json.dumps(quotas)}`" if quotas else ""))
    lines += [
        "",
        "Everything else (bench.json): every run, its wrk or open-loop figures, the CPU each "
        "service used in it (cgroup cpuacct), and the peak memory of each container.",
        "",
    ]
    return "\n".join(lines)


def _trials(t: dict) -> list[str]:
    """The api under each trial's environment: req/s, api CPU per request, ratio to config.env's."""
    lines = _section(
        f"Trials: what each api setting buys (cached list through the gateway, api at {t['quotas']['api']} CPU)",
        "| api | req/s | ratio to config.env | api CPU per request |",
    )
    for trial, rps in t["rps"].items():
        cpu = _s(t["api_cpu_ms_per_request"][trial], " ms", 2)
        lines.append(f"| {trial} | {_s(rps)} | {t['ratio_to_default'][trial]} | {cpu} |")
    return lines


def _profile(f: dict) -> list[str]:
    """Where the request threads' samples were, per read, beside its flame graph."""
    lines = ["", "## Profile: py-spy under wrk, at the floor's quotas", ""]
    if reason := f.get("skipped"):
        return [*lines, f"Not measured: {reason}."]
    lines.append(
        f"{f['seconds']:g} s of wrk per read, every gunicorn process of the service sampled; shares of the "
        "samples in which a request thread was working (idle threads, the arbiter and heartbeat left out)."
    )
    for name, read in f["reads"].items():
        lines += [
            "",
            f"### {name}: [{name}.svg]({name}.svg)",
            "",
            f"{read['url']}: {read['rps']:.1f} req/s, p99 {read['latency_ms'].get('p99', 0):.1f} ms under the "
            f"sampler, {read['samples']} samples.",
            "",
            "| own time | function | | inclusive | function |",
            "|---|---|---|---|---|",
        ]
        for (own, own_pct), (inc, inc_pct) in zip(read["own_pct"], read["inclusive_pct"], strict=False):
            lines.append(f"| {own_pct} % | `{own}` | | {inc_pct} % | `{inc}` |")
    return lines


def _median(figure: dict) -> float:
    """A spread's median; NaN (which meets no target) when nothing was measured."""
    return figure["median"] if figure.get("n") else float("nan")


def _votes(v: dict) -> list[str]:
    """Reads with votes at 10 % of requests: cache hit ratios, p99 and what a vote costs."""
    cost = ", ".join(f"{service} {_s(ms, ' ms', 2)}" for service, ms in v["vote_cpu_ms"].items() if ms.get("n"))
    return [
        *_section(
            f"API reads with votes at 10 % of requests ({v['rate']}/s, 50 % of the mix's {v['capacity_rps']}/s)",
            "| figure | result | target | |",
        ),
        f"| list cache hit ratio | {_s(v['hit_ratio']['list'], '', 3)} | >= {v['target_hit_ratio']} | "
        f"{_met(_median(v['hit_ratio']['list']) >= v['target_hit_ratio'])} |",
        f"| poll cache hit ratio (detail, results) | {_s(v['hit_ratio']['poll'], '', 3)} | reported | |",
        f"| p99, every request of the mix | {_s(v['p99_ms'], ' ms')} | <= {v['target_p99_ms']} ms | "
        f"{_met(_median(v['p99_ms']) <= v['target_p99_ms'])} |",
        f"| votes committed, share of requests | {_s(v['vote_share'], '', 3)} | 0.10 | |",
        f"| CPU per vote beyond the reads it replaced | {cost} | reported | |",
    ]


def _floor(f: dict) -> list[str]:
    """The floor table: each read's req/s, its ratio to the bare Django view, and CPU per request."""
    lines = _section(
        "Against the floor: a bare Django JSON view with the api's image, gunicorn settings and quota",
        "| read | req/s | ratio to the floor (direct) | CPU per request, by service |",
    )
    for name, rps in f["rps"].items():
        cpu = ", ".join(f"{service} {_s(v, ' ms', 2)}" for service, v in f["cpu_ms_per_request"][name].items())
        lines.append(f"| {name} | {_s(rps)} | **{f['ratio_to_floor'][name]}** | {cpu} |")
    return lines


def _isolation_flood(side: str, rows: list[dict]) -> str:
    """What the API flood itself got on one side, over its repeats."""
    floods = [r["API flood"]["flood"] for r in rows]
    answered = ", ".join(f"{f['answered_per_second']:g}" for f in floods)
    p99 = ", ".join(f"{f['latency_ms'].get('p99', 0):g}" for f in floods)
    cpu = ", ".join(f"{f['client_cpu_pct']:g}" for f in floods)
    return (
        f"- {side}: answered {answered}/s against a capacity of {floods[0]['capacity_per_second']:g}/s; "
        f"{sum(f['errors'] for f in floods)} errors; flood p99 {p99} ms; wrk CPU {cpu} % of a core"
    )


def _isolation_exports(side: str, rows: list[dict]) -> str:
    """How deep the export queue was and how fast the worker emptied it, on one side."""
    parts = []
    for r in rows:
        e = r["export flood"]["exports"]
        span = e["done"] / e["exports_per_second"] if e.get("exports_per_second") else None
        worker = r["export flood"]["cpu_cores"].get("worker")
        parts.append(
            f"{e['done']}/{e['queued']} built at {e.get('exports_per_second')}/s"
            + (f" in {span:.1f} s" if span else "")
            + (f", worker {worker:g} CPU in the window" if worker is not None else "")
        )
    return f"- {side}: " + "; ".join(parts)


def _control(f: dict) -> str:
    """The control's ratio, and the probe's over it (absent from runs made before the control)."""
    control = f.get("control") or {}
    if not control.get("ratio"):
        return "-"
    return f"x{control['ratio']}; the probe's over it: {f['over_control']}"


def _isolation(phase: dict) -> list[str]:
    """The isolation section of bench.md: quiet and flooded p99 per side and probe, then the floods."""
    q = phase["quotas"]
    lines = _section(
        "Isolation: a flood on one service, and the others' latency",
        "| side | probe, under | p99 quiet / flooded, every request | ratio | ratio per repeat | control's ratio | "
        "p50, quiet / flooded | probe errors | host busy, quiet / flooded | probe client lag p99, flooded | "
        "target | |",
        f"Quotas (bench.yml, half each Kubernetes CPU limit): gateway {q['gateway']}, web {q['web']}, "
        f"api {q['api']}, worker {q['worker']}, static {q['static']}; the monolith {q['monolith']} "
        f"(web's plus api's). Probe: {phase['probe_rate']} req/s, half web home page and half API poll list, "
        f"open loop, {phase['window_seconds']} s per window. API flood: wrk on {phase['flood_connections']} "
        "connections to the API poll list, each sending again as soon as it is answered (twice the "
        "connections of the capacity runs: the API is past capacity, with a queue, all window). "
        f"Export flood: {phase['export_backlog']} exports queued while the worker was paused, built during "
        "the window. Ratio: the p99 of every flooded request over that of every quiet one, over the repeats "
        "(a window's own p99 rests on its few slowest requests); per repeat beside it. Host busy near "
        "100 %, or a probe client lag of tens of ms, means the shared host, not the quotas, set the flooded "
        "figure. Control: the same ratio for a bare Django view behind its own gateway (the floor's "
        "containers, which share only the host with the flooded services), probed at the same time by a "
        "client of its own: what the flood did to a p99 through the host alone; a probe's ratio over the "
        "control's near 1 or below means the flood reached it no more than it reached unrelated containers.",
    )
    for probe in isolation_chart.PROBES:
        for side, by_probe in phase["figures"].items():
            f = by_probe[probe]
            busy, decomposed = f["host_busy_pct"], side == "decomposed"
            target = f"<= x{f['target_ratio']:g}" + (", 0 errors" if probe == "web" else "")
            verdict = _met(f["met"]) if decomposed else "contrast"
            pooled = f["pooled"] or {"quiet_p99_ms": "-", "flooded_p99_ms": "-", "ratio": "-", "requests": {}}
            lines.append(
                f"| {side} | {isolation_chart.PROBES[probe]}, {f['flood']} | {pooled['quiet_p99_ms']} / "
                f"{pooled['flooded_p99_ms']} ms ({pooled['requests'].get('quiet')} / "
                f"{pooled['requests'].get('flooded')} requests) | **x{pooled['ratio']}** | x{_s(f['ratio'], '', 2)} | "
                f"{_control(f)} | "
                f"{_s(f['p50_ms']['quiet'], ' ms')} / {_s(f['p50_ms']['flooded'], ' ms')} | {f['errors']} | "
                f"{_s(busy['quiet'], ' %', 0)} / {_s(busy['flooded'], ' %', 0)} | "
                f"{_s(f['flooded_client_lag_p99_ms'], ' ms')} | {target if decomposed else ''} | {verdict} |"
            )
    runs = phase["runs"]
    lines += ["", "The API flood's own outcome (429, 502-504 and timeouts would be expected there):", ""]
    lines += [_isolation_flood(side, rows) for side, rows in runs.items()]
    lines += ["", "The export backlog:", ""]
    lines += [_isolation_exports(side, rows) for side, rows in runs.items()]
    lines += [
        "",
        "Timelines (per-second p99 of each probe, the last repeat of each side): "
        f"[{isolation_chart.CHART}]({isolation_chart.CHART})",
    ]
    return lines


def write(result: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.json").write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    (folder / "bench.md").write_text(markdown(result))
    if result["phases"].get("isolation"):
        isolation_chart.chart(result["phases"]["isolation"], folder / isolation_chart.CHART)
