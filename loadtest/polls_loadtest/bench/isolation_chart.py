"""The isolation phase's chart in the bench report: per-second p99 of each probe, decomposed against monolith."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from polls_loadtest.load.report import plot_percentiles  # noqa: E402

CHART = "isolation.svg"
SIDE_COLORS = {"decomposed": "tab:blue", "monolith": "tab:red"}
PROBES = {"web": "web home page", "api": "API poll list"}


def chart(phase: dict, path: Path) -> None:
    """Draw the per-second p99 of the web and API probes, decomposed against monolith, with the
    flood windows shaded and named."""
    timelines = phase["timelines"]
    figure, panels = plt.subplots(2, 1, figsize=(10, 6), dpi=100, sharex=True)
    figure.suptitle("Isolation: per-second p99 of a light probe, quiet and under each flood", fontsize=11)
    for axes, (probe, title) in zip(panels, PROBES.items(), strict=True):
        for side, lines in timelines["sides"].items():
            plot_percentiles(
                axes, lines[probe], ("p99",), suffix=f" {side}", colors={"p99": SIDE_COLORS[side]}, markersize=3
            )
        axes.set_title(title, fontsize=10)
        axes.set_ylabel("p99 per second (ms)")
        axes.grid(True, alpha=0.3)
        for window in timelines["windows"]:
            if window["label"] != "quiet":
                axes.axvspan(window["start"], window["end"], color="tab:orange", alpha=0.12)
            axes.annotate(
                window["label"], (window["start"] + 0.2, 1), xycoords=("data", "axes fraction"), va="top", fontsize=8
            )
        axes.legend(loc="upper right", fontsize=8)
    panels[-1].set_xlabel("seconds (three windows of one repeat, end to end)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
