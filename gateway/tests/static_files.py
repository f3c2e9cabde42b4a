"""A small collectstatic output for the real static service: what test_static.py reads back.

Manifest storage writes each file twice, under its name and under a hashed name, plus a
pre-compressed copy of the hashed one and staticfiles.json (which must never be served).
"""

import gzip
from pathlib import Path

CSS = "body { color: #123; }\n" * 200
PLAIN = "css/app.css"
HASHED = "css/app.0123456789ab.css"


def write(root: Path) -> None:
    """Write the files under `root`, readable by the static container's uid."""
    (root / "css").mkdir(parents=True)
    (root / "admin").mkdir()
    (root / PLAIN).write_text(CSS)
    (root / HASHED).write_text(CSS)
    (root / f"{HASHED}.gz").write_bytes(gzip.compress(CSS.encode(), compresslevel=9))
    (root / "staticfiles.json").write_text(f'{{"paths": {{"{PLAIN}": "{HASHED}"}}, "version": "1.1"}}\n')
    (root / "admin" / "base.css").write_text("admin\n")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
