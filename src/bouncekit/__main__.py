"""``python -m bouncekit``."""

import sys

from bouncekit._cli import main

sys.exit(main())
