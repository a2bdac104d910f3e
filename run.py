"""Run the forum from a source tree: the same command line as the installed `forum` (forum/cli.py)."""
import sys

from forum.cli import main

if __name__ == "__main__":
    sys.exit(main())
