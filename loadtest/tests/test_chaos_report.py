"""The failure-drill report, from made-up results: every file the docs promise, for any runner."""

import json

from polls_loadtest.drills import report
from polls_loadtest.drills.drills import Check
from polls_loadtest.drills.figures import Figures
from polls_loadtest.drills.runner import DrillResult


def _result(name: str, passed: bool) -> DrillResult:
    timeline = {"t": [0.0, 0.1, 0.2], "ok": [4, 3, 4], "failed": [0, 1 - passed, 0]}
    per_second = {"t": [0.0], "p50_ms": [5.0], "p99_ms": [20.0]}
    return DrillResult(
        name=name,
        title=f"{name} title",
        criterion="zero failed requests",
        passed=passed,
        checks=[Check("zero failed requests", passed, f"{1 - passed} failed of 11")],
        figures=Figures(sent=11, failed=1 - passed, window=(0.1, 0.2)),
        seconds=1.0,
        results={"timeline": timeline, "per_second": per_second, "marks": [{"t": 0.1, "label": "fault"}]},
    )


def test_the_report_has_the_table_a_chart_per_drill_and_the_raw_figures(tmp_path):
    page = report.write([_result("kill-api", True), _result("static-down", False)], tmp_path, started_at="test")

    html = page.read_text()
    assert "kill-api" in html and "static-down" in html and "FAIL" in html
    assert (tmp_path / "kill-api.png").stat().st_size > 0 and (tmp_path / "static-down.png").stat().st_size > 0
    verdicts = json.loads((tmp_path / "verdicts.json").read_text())
    assert [(v["name"], v["passed"]) for v in verdicts] == [("kill-api", True), ("static-down", False)]
    assert set(json.loads((tmp_path / "timelines.json").read_text())) == {"kill-api", "static-down"}
