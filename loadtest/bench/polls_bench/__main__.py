"""python -m polls_bench: run the benchmark (see cli.py)."""

from polls_bench.cli import main

raise SystemExit(main())
