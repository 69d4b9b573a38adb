"""daec-viz: heatmap decoding for human pose estimation, measured and explained.

The public API is flat (``from daec_viz import decode, load_dataset, evaluate, ...``);
names are imported lazily so that ``import daec_viz`` stays fast.

Examples
--------
>>> import numpy as np
>>> from daec_viz import decode, METHODS
>>> METHODS
('standard', 'shifting', 'dark', 'daec')
>>> r = decode(np.zeros((2, 17, 64, 48), np.float32), method="daec", sigma=2.0, delta=4)
>>> r.coords.shape, bool(r.valid.any())
((2, 17, 2), False)
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def _writable(folder: str | Path) -> bool:
    """True when ``folder`` exists (or can be made) and a file can be created in it."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except (OSError, ValueError):
        return False
    return True


def _private(folder: str) -> bool:
    """True when ``folder`` (in a shared temporary directory) is absent, or is a real
    folder owned by this user that nobody else can write: numba's cache index files are
    pickles, so a folder another user made first must not be used."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return False
    import stat as stat_
    own = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return stat_.S_ISDIR(st.st_mode) and own and not st.st_mode & 0o022


def numba_cache_dir() -> str | None:
    """Make numba's ``cache=True`` kernels import and run whatever is writable.

    numba caches compiled kernels in ``$NUMBA_CACHE_DIR`` when it is set (and fails at
    import, when a kernel is decorated, if that folder cannot be written), else beside
    the sources (``daec_viz/*/__pycache__``), else in ``~/.cache/numba``; when none of
    those is writable (a read-only install run by a user without a home, a read-only or
    missing ``NUMBA_CACHE_DIR``) it raises at import. Called once when ``daec_viz`` is
    imported, before any kernel: if numba's own choice would fail, ``NUMBA_CACHE_DIR``
    is pointed at the first writable of ``$DAEC_VIZ_CACHE/numba``,
    ``$XDG_CACHE_HOME/daec-viz/numba`` (``~/.cache/...``) and a per-user folder in the
    temporary directory (``/tmp/daec-viz-numba-UID``, then ``/dev/shm/...``; used only
    when it is this user's own folder that nobody else can write: numba's index files are
    pickles).

    Returns the folder it chose, or None when numba's own choice is kept (or nothing at
    all is writable: then numba raises as it would without daec-viz).
    """
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        if _writable(env):
            return None
    else:
        package = Path(__file__).resolve().parent
        in_tree = [package / sub / "__pycache__" for sub in ("decoding", "evaluation")]
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                               ".cache")
        if all(_writable(d) for d in in_tree) or _writable(os.path.join(xdg, "numba")):
            return None
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    candidates = [os.path.join(os.environ["DAEC_VIZ_CACHE"], "numba")
                  if os.environ.get("DAEC_VIZ_CACHE") else None,
                  os.path.join(os.environ.get("XDG_CACHE_HOME")
                               or os.path.join(os.path.expanduser("~"), ".cache"),
                               "daec-viz", "numba"),
                  os.path.join(os.environ.get("TMPDIR") or "/tmp", f"daec-viz-numba-{uid}"),
                  f"/dev/shm/daec-viz-numba-{uid}"]
    shared = set(candidates[2:])  # in world-writable temporary folders
    for folder in candidates:
        if folder and folder in shared and not _private(folder):
            continue
        if folder and _writable(folder):
            os.environ["NUMBA_CACHE_DIR"] = folder
            config = sys.modules.get("numba.core.config")
            if config is not None:  # numba already imported: it read the variable already
                config.CACHE_DIR = folder
            return folder
    return None


NUMBA_CACHE_FALLBACK: str | None = numba_cache_dir()

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "decode": "daec_viz.decoding",
    "DecodeResult": "daec_viz.decoding",
    "METHODS": "daec_viz.decoding",
    "PATTERNS": "daec_viz.decoding",
    "gaussian_blur": "daec_viz.decoding",
    "to_image": "daec_viz.geometry",
    "to_heatmap": "daec_viz.geometry",
    "box_to_center_scale": "daec_viz.geometry",
    "CONVENTIONS": "daec_viz.geometry",
    "decode_daec_grid": "daec_viz.decoding",
    "HeatmapWriter": "daec_viz.io.writer",
    "load_dataset": "daec_viz.io.datasets",
    "Dataset": "daec_viz.io.datasets",
    "evaluate": "daec_viz.evaluation.scoring",
    "predict": "daec_viz.evaluation.predict",
    "Predictions": "daec_viz.evaluation.predict",
    "DecoderConfig": "daec_viz.decoding",
    "coco_keypoint_stats": "daec_viz.evaluation.coco_eval",
    "pckh": "daec_viz.evaluation.pckh",
    "run_sweep": "daec_viz.evaluation.sweep",
    "learn_delta": "daec_viz.evaluation.sweep",
    "analyse_errors": "daec_viz.analysis",
    "build_demo": "daec_viz.synthetic.demo",
    "ensure_demo": "daec_viz.synthetic.demo",
    "simulate_heatmaps": "daec_viz.synthetic.simulate",
    "NetworkKnobs": "daec_viz.synthetic.simulate",
    "DaecVizError": "daec_viz.exceptions",
    "InputError": "daec_viz.exceptions",
    "DatasetError": "daec_viz.exceptions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'daec_viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
