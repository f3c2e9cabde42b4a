"""`python -m polls_load`: see cli.py."""

import sys

from polls_load.cli import main

sys.exit(main())
