"""Shared test set-up: make tests/ importable for the synthetic data helpers."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))



import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def app_data_root(tmp_path_factory):
    """The app's data root (daec_viz_app/paths_policy.py) is the session's temporary
    folder, where the tests build their datasets (the default, the home folder, would
    refuse them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAEC_VIZ_APP_ROOT", str(tmp_path_factory.getbasetemp()))
        yield tmp_path_factory.getbasetemp()


@pytest.fixture(scope="session")
def app_demo(tmp_path_factory) -> Path:
    """A small simulated demo (16 images) the AppTest modules open (built once)."""
    from daec_viz.synthetic.demo import build_demo
    return build_demo(tmp_path_factory.mktemp("app") / "demo", seed=1, n_images=16)


@pytest.fixture()
def app(app_demo, tmp_path, monkeypatch):
    """The app in streamlit's AppTest on :func:`app_demo`, run once, with a fresh sweep
    cache."""
    pytest.importorskip("streamlit")
    from apptest_support import APP, TIMEOUT, no_errors
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("DAEC_VIZ_DATASET", str(app_demo))
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    no_errors(at)
    return at
