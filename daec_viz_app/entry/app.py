"""Streamlit entry script inside the package (what ``daec-viz app`` runs).

It lives in its own folder on purpose: Streamlit treats a main script that has a
sibling ``pages/`` folder as an old-style multipage app and runs those files directly,
so neither ``daec_viz_app/main.py`` nor any file next to ``daec_viz_app/pages/`` can be
the main script.
"""

import sys
from pathlib import Path

try:
    import daec_viz_app  # noqa: F401
except ModuleNotFoundError:  # a checkout that is not installed: the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from daec_viz_app.main import run  # noqa: E402

run()
