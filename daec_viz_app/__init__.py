"""The daec-viz Streamlit app (``streamlit run app.py`` or ``daec-viz app [DATASET]``).

Layout only: every computation and figure comes from the :mod:`daec_viz` library
(which never imports Streamlit). :mod:`daec_viz_app.main` builds the navigation and the
sidebar; :mod:`daec_viz_app.state` holds the cached loaders; ``pages/`` one file per page.
"""

from pathlib import Path

#: The Streamlit entry script for ``daec-viz app`` (not ``main.py``: a main script next to
#: a ``pages/`` folder would make Streamlit run those files as old-style pages).
MAIN_SCRIPT = Path(__file__).resolve().parent / "entry" / "app.py"
