"""`python -m osqueue_cli` runs the `osqueue` command."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
