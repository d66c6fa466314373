#!/usr/bin/env python3
"""Checks a JSON-lines history; see docs/jepsen.md and pontoon_jepsen/cli.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pontoon_jepsen.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
