"""python -m katakit: the same as the katas command."""

import sys

from .cli import main

sys.exit(main())
