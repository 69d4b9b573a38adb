"""What the AppTest modules share: where the app is, how long a run may take, and the
checks every page test makes (the fixtures ``app_demo`` and ``app`` are in conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 180


def no_errors(at: Any) -> None:
    """No exception and no ``st.error`` on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: Any, label: str) -> str:
    """The value of the ``st.metric`` labelled ``label``."""
    vals = [m.value for m in at.metric if m.label == label]
    assert vals, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return vals[0]


def stop_server(proc: subprocess.Popen, log: Any) -> None:
    """End a test's Streamlit server process (politely, then by force) and close its log."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
