"""``python -m hipimu``: the ``hipimu`` command (where the script is not on PATH)."""

import sys

from hipimu.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
