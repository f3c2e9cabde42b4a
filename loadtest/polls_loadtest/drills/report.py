"""The drills' report: a verdict table, one timeline chart per drill, and the raw timelines as JSON."""

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from polls_loadtest.load.report import mark_events, plot_percentiles  # noqa: E402

COLUMNS = "drill|verdict|sent|failed|failed in window|recovery|p99 before|p99 during|p99 after|time".split("|")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def row(result) -> list[str]:
    """Return a drill's row of the verdict table as text cells."""
    f = result.figures
    counts = [str(f.sent), str(f.failed), str(f.failed_in_window)]
    recovery = "-" if f.recovery_s is None else f"{f.recovery_s:g} s"
    p99s = [_ms(f.p99_before_ms), _ms(f.p99_during_ms), _ms(f.p99_after_ms)]
    return [result.name, "PASS" if result.passed else "FAIL", *counts, recovery, *p99s, f"{result.seconds:.0f} s"]


def table(results) -> str:
    """Return the verdict table as aligned plain text (what `make chaos` prints)."""
    body = [row(r) for r in results]
    widths = [max(len(c), *(len(cells[i]) for cells in body)) for i, c in enumerate(COLUMNS)]
    line = lambda cells: "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *map(line, body)])


def chart(result, path: Path) -> None:
    """Draw ok/failed per 100 ms and the p99 per second, with the fault and recovery markers."""
    timeline = result.results.get("timeline", {})
    seconds = result.results.get("per_second", {})
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5), dpi=90, sharex=True)
    figure.suptitle(f"{result.name}: {result.title}", fontsize=11)
    t, ok = timeline.get("t", []), timeline.get("ok", [])
    top.bar(t, ok, width=0.1, align="edge", color="tab:green", label="ok / 100 ms")
    top.bar(t, timeline.get("failed", []), width=0.1, align="edge", color="tab:red", label="failed / 100 ms", bottom=ok)
    top.set_ylabel("requests")
    plot_percentiles(bottom, seconds, ("p99", "p50"), suffix=" / s")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds since the load started")
    start, end = result.figures.window
    marks = result.results.get("marks", [])
    for axes in (top, bottom):
        axes.axvspan(start, max(end, start + 0.1), color="tab:orange", alpha=0.15)
        axes.grid(True, alpha=0.3)
        mark_events(axes, marks, label=axes is top, fontsize=7, linewidth=0.8)
        axes.legend(loc="upper right", fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _section(r) -> str:
    """One drill: its title, criterion, checks, error if any, and chart."""
    checks = "".join(
        f"<li class={'ok' if c.passed else 'bad'}>{'✔' if c.passed else '✘'} "
        f"{html.escape(c.name)}: {html.escape(c.detail)}</li>"
        for c in r.checks
    )
    error = f"<pre>{html.escape(r.error)}</pre>" if r.error else ""
    return (
        f"<h2 id={r.name}>{html.escape(r.name)}: {html.escape(r.title)}</h2>"
        f"<p>Criterion: {html.escape(r.criterion)}</p><ul>{checks}</ul>{error}"
        f'<img src="{r.name}.png" alt="timeline of {r.name}">'
    )


def _cell(column: int, text: str) -> str:
    """A cell of the verdict table: the drill's name links to its section, the verdict has a colour."""
    colour = "ok" if text == "PASS" else "bad" if text == "FAIL" else ""
    return f"<td class={colour}>" + (f'<a href="#{text}">{text}</a>' if column == 0 else html.escape(text)) + "</td>"


def write(results, folder: Path, *, started_at: str) -> Path:
    """Write index.html, a PNG per drill, timelines.json and verdicts.json into `folder`; return the page."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "verdicts.json").write_text(json.dumps([r.summary() for r in results], indent=1, default=str) + "\n")
    timelines = {
        r.name: {
            "marks": r.results.get("marks", []),
            "window": r.figures.window,
            "timeline": r.results.get("timeline", {}),
            "summary": r.results.get("summary", {}),
        }
        for r in results
    }
    (folder / "timelines.json").write_text(json.dumps(timelines) + "\n")
    for r in results:
        chart(r, folder / f"{r.name}.png")
    sections = "".join(map(_section, results))
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(_cell(i, c) for i, c in enumerate(row(r))) + "</tr>" for r in results)
    page = folder / "index.html"
    page.write_text(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Failure drills {html.escape(started_at)}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ddd; padding: .3em .6em; }}
.ok {{ color: #080; }} .bad {{ color: #b00; font-weight: bold; }} img {{ max-width: 100%; }}
</style></head><body><h1>Failure drills</h1>
<p>{html.escape(started_at)}. Each drill ran under open-loop load; the shaded band on its chart is the
fault window, dashed lines are markers. Raw timelines: <a href="timelines.json">timelines.json</a>,
verdicts: <a href="verdicts.json">verdicts.json</a>.</p>
<table><tr>{head}</tr>{body}</table>{sections}</body></html>
""")
    return page
