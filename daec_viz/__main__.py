"""``python -m daec_viz`` is the ``daec-viz`` command."""

import sys

from daec_viz.cli import main

sys.exit(main())
