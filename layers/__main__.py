"""``python -m layers``: build the Lambda layers from the command line (see :mod:`layers.cli`)."""

import sys

from layers.cli import main

if __name__ == "__main__":
    sys.exit(main())
