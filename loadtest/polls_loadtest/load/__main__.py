"""`python -m polls_loadtest.load`: see cli.py."""

import sys

from polls_loadtest.load.cli import main

sys.exit(main())
