"""python -m polls_loadtest.bench: run the benchmark (see cli.py)."""

from polls_loadtest.bench.cli import main

raise SystemExit(main())
