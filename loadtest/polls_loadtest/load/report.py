"""Turn a run's results (the dict openloop returns) into a report folder: JSON, PNG charts, HTML.

Works from the JSON alone, so a report can be drawn again later:
    python -m polls_loadtest.load.report loadtest/reports/<timestamp>/results.json
"""

import contextlib
import html
import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display: the same on a laptop and in CI

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import matplotlib.ticker  # noqa: E402

CHARTS = {
    "throughput.png": "Requests per second: scheduled, answered as expected, and completed",
    "latency.png": "Latency per second (p50, p95, p99), counted from the scheduled send time",
    "errors.png": "Failed requests per second",
    "requests.png": "Latency of each kind of request (p50 and p99)",
}


def write(results: dict, folder: Path) -> Path:
    """Write results.json, every chart and index.html into `folder`; return the HTML page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    seconds, marks = results["per_second"], results.get("marks", [])
    with _chart(folder / "throughput.png", "Throughput", "requests / s", marks) as axes:
        t = seconds["t"]
        axes.step(t, seconds["scheduled"], where="post", label="scheduled", color="tab:gray")
        axes.step(t, seconds["ok"], where="post", label="ok (by scheduled time)", color="tab:green")
        completed = {"label": "completed (by completion time)", "color": "tab:blue", "alpha": 0.6}
        axes.step(t, seconds["completed"], where="post", **completed)
        axes.set_ylim(bottom=0, top=max([1, *seconds["scheduled"], *seconds["completed"]]) * 1.3)  # room for the legend
    with _chart(folder / "latency.png", "Latency from the scheduled send time", "ms", marks) as axes:
        plot_percentiles(axes, seconds, markersize=3)
    with _chart(folder / "errors.png", "Errors", "failed requests / s", marks) as axes:
        axes.bar(seconds["t"], seconds["failed"], width=0.9, align="edge", color="tab:red", label="failed")
        axes.set_ylim(bottom=0, top=max([1, *seconds["failed"]]) * 1.1)
    _requests(results["by_request"], folder / "requests.png")
    page = folder / "index.html"
    page.write_text(_html(results))
    return page


@contextlib.contextmanager
def _chart(path: Path, title: str, ylabel: str, marks: list[dict]):
    """A chart of the run over time: yield its axes to draw on, then add the marks and save it."""
    figure, axes = plt.subplots(figsize=(10, 4), dpi=100)
    axes.set_title(title, fontsize=11)
    axes.grid(True, alpha=0.3)
    yield axes
    axes.set_ylabel(ylabel)
    _finish(figure, axes, marks, path)


def mark_events(axes, marks: list[dict], *, label: bool = True, fontsize: int = 8, linewidth: float = 1) -> None:
    """Draw each mark ({"t": seconds, "label": text}) as a dashed line, labelled at the top."""
    for mark in marks:
        axes.axvline(mark["t"], color="black", linestyle="--", linewidth=linewidth)
        if label:
            at_the_top = {"xycoords": ("data", "axes fraction"), "rotation": 90, "va": "top", "ha": "right"}
            axes.annotate(mark["label"], (mark["t"], 1), fontsize=fontsize, **at_the_top)


def _finish(figure, axes, marks: list[dict], path: Path, *, xlabel: str = "seconds since start") -> None:
    mark_events(axes, marks)
    axes.set_xlabel(xlabel)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_percentiles(
    axes, seconds: dict, names=("p50", "p95", "p99"), *, suffix: str = "", colors: dict | None = None, **style
) -> None:
    """Plot latency percentiles per time slice (a timeline's "<name>_ms" columns) on a log scale;
    `colors` overrides a percentile's colour (two runs on one chart)."""
    colors = {"p50": "tab:green", "p95": "tab:orange", "p99": "tab:red", **(colors or {})}
    for name in names:
        values = [math.nan if v is None else v for v in seconds.get(f"{name}_ms", [])]
        axes.plot(seconds.get("t", []), values, label=name + suffix, color=colors[name], marker=".", **style)
    axes.set_yscale("log")
    # Plain numbers (5, 20, 300 ms) rather than powers of ten: people read these charts at a glance.
    axes.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1, 2, 5)))
    axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _requests(by_request: dict, path: Path) -> None:
    names = [n for n in by_request if by_request[n]["latency_ms"].get("count")]
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(names) + 1.5), dpi=100)
    axes.set_title("Latency by request (from the scheduled send time)", fontsize=11)
    rows = range(len(names))
    p50 = [by_request[n]["latency_ms"]["p50"] for n in names]
    p99 = [by_request[n]["latency_ms"]["p99"] for n in names]
    axes.barh(rows, p99, color="tab:red", alpha=0.5, label="p99")
    axes.barh(rows, p50, color="tab:green", label="p50")
    axes.set_yticks(list(rows), [f"{n}  ({by_request[n]['ok'] + by_request[n]['failed']})" for n in names], fontsize=8)
    axes.invert_yaxis()
    axes.grid(True, axis="x", alpha=0.3)
    _finish(figure, axes, [], path, xlabel="ms")


def _html(results: dict) -> str:
    s, summary, client = results["settings"], results["summary"], results["client"]
    lat, svc = summary["latency_ms"], summary["service_time_ms"]
    mix = ", ".join(f"{k}:{v}" for k, v in s["mix"].items())
    rows = (
        "".join(
            f"<tr><td>{html.escape(e['request'])}</td><td>{html.escape(e['reason'])}</td><td>{e['count']}</td></tr>"
            for e in results["errors"]
        )
        or '<tr><td colspan="3">none</td></tr>'
    )
    marks = "".join(f"<li>{m['t']:.1f} s: {html.escape(m['label'])}</li>" for m in results["marks"])
    charts = "".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}'
        "</figcaption></figure>"
        for name, caption in CHARTS.items()
    )

    def ms(d: dict, key: str) -> str:
        return f"{d[key]:.1f} ms" if key in d else "n/a"

    percentiles = "\n".join(f"<div><b>{ms(lat, p)}</b>{p}</div>" for p in ("p50", "p95", "p99", "max"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Load test {html.escape(results["started_at"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1050px; color: #222; }}
.figures {{ display: flex; flex-wrap: wrap; gap: 1em; }}
.figures div {{ border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; }}
.figures b {{ display: block; font-size: 1.4em; }}
.bad b {{ color: #b00; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ddd; padding: .3em .6em; text-align: left; }}
</style></head><body>
<h1>Load test: {html.escape(s["target"])}</h1>
<p>Started {html.escape(results["started_at"])}; open loop, {s["rate"]:g} requests/s scheduled
({html.escape(s["arrival"])} arrivals) for {s["duration"]:g} s, {s["users"]} users, mix {html.escape(mix)}.
Latency runs from each request's <em>scheduled</em> send time, so client-side queueing during a stall
counts (no coordinated omission).</p>
<div class="figures">
<div><b>{summary["achieved_rate"]:g}/s</b>answered as expected</div>
<div><b>{summary["ok"]}</b>ok of {summary["scheduled"]} scheduled</div>
<div class="{"bad" if summary["failed"] else ""}"><b>{summary["failed"]}</b>failed</div>
{percentiles}
<div><b>{ms(svc, "p99")}</b>p99 from actual send</div>
</div>
{f"<h2>Markers</h2><ul>{marks}</ul>" if marks else ""}
{charts}
<h2>Failures</h2>
<table><tr><th>request</th><th>reason</th><th>count</th></tr>{rows}</table>
<h2>The client</h2>
<p>{client["users"]} users on {client["connections_opened"]} connections (keep-alive);
signing in took {client["setup_seconds"]} s; the client used {client["cpu_percent_of_one_core"]}% of one core;
the scheduler's p99 lag was {client["p99_schedule_lag_ms"]} ms (a lag of several ms means the client,
not the site, was short of CPU). Raw figures: <a href="results.json">results.json</a>.</p>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m polls_loadtest.load.report RESULTS.json", file=sys.stderr)
        return 2
    source = Path(argv[0])
    print(write(json.loads(source.read_text()), source.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
