"""`python -m forum`: the same command line as the `forum` console script and run.py."""
import sys

from forum.cli import main

sys.exit(main())
