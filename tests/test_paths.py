"""Where generated data and caches go (daec_viz.io.paths)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from daec_viz.io import paths
from daec_viz.synthetic.demo import build_demo


def test_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("DAEC_VIZ_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "c"))
    assert paths.data_root() == tmp_path / "d"
    assert paths.demo_dir() == tmp_path / "d" / "demo"
    assert paths.cache_root() == tmp_path / "c"


def test_checkout_then_user_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DAEC_VIZ_DATA", raising=False)
    checkout = paths.source_checkout()
    if checkout is not None:  # the tests run from the repository
        assert paths.data_root() == checkout / "data"
        assert (checkout / "daec_viz").is_dir()
    monkeypatch.setattr(paths, "source_checkout", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.data_root() == tmp_path / "xdg" / "daec-viz"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.data_root() == Path(tmp_path / "home" / ".local" / "share" / "daec-viz")


def test_demo_folder_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = build_demo(tmp_path / "demo", seed=1, n_images=2)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755  # not mkdtemp's 0700
