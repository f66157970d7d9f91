"""`python -m directory` runs the `hirondelle` command."""

import sys

from directory.cli import main

sys.exit(main())
