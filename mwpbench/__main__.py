"""`python -m mwpbench`: the same command as the `mwpbench` console script."""

from __future__ import annotations

import sys

from mwpbench.cli import main

if __name__ == "__main__":  # pragma: no cover - run as a program
    sys.exit(main())
