"""`python -m gandash ...`: the command line lives in gandash.cli; `main` stays importable from here."""

import sys

from gandash.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
