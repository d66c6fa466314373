#!/usr/bin/env python3
"""Runs a service under faults and checks its history; see docs/jepsen.md and
pontoon_jepsen/driver.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pontoon_jepsen.driver import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
