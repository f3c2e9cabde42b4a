"""checkov finds nothing wrong with the rendered overlays beyond the justified skip list."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import COMPONENTS, K8S, OVERLAYS

# The checkov of the virtualenv running these tests (make k8s-validate: .venv), whichever it is.
CHECKOV = Path(sys.executable).parent / "checkov"


def test_checkov_passes_on_every_overlay(tmp_path, all_renders):
    """One checkov run over a directory of rendered files (fast: one start-up, about 5 s)."""
    import yaml

    for overlay in OVERLAYS:
        (tmp_path / f"{overlay}.yaml").write_text(
            yaml.safe_dump_all(all_renders[f"overlays/{overlay}"], sort_keys=False)
        )
    # Not every component is in an overlay (gateway-api, loadtest): check base with all of them.
    (tmp_path / "all-components.yaml").write_text(
        yaml.safe_dump_all(
            all_renders["base+" + "+".join(COMPONENTS)],
            sort_keys=False,
        )
    )
    result = subprocess.run(
        [str(CHECKOV), "--config-file", str(K8S / "checkov.yaml"), "-d", str(tmp_path), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})"
        for report in reports
        for f in report["results"].get("failed_checks", [])
    ]
    passed = sum(r["summary"]["passed"] for r in reports)
    assert not failed, "\n".join(failed)
    assert sum(r["summary"]["parsing_errors"] for r in reports) == 0
    assert passed > 100, "checkov checked next to nothing: did it parse the files?"
    assert result.returncode == 0, result.stderr
