"""`python main.py` does what the `avstudio` command does (opens the editor by default)."""

import sys

from avstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
