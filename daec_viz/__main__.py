"""``python -m daec_viz`` is the ``daec-viz`` command."""

import sys

from .cli import main

sys.exit(main())
