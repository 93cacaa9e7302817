"""``python -m revaer``."""

import sys

from revaer.cli import main

if __name__ == "__main__":
    sys.exit(main())
