"""Where daec-viz writes what it makes: one home for its folders.

Nothing is ever written into a user's dataset folder. Generated data (the bundled demo)
goes to :func:`data_root`; results caches (sweeps) to :func:`cache_root`:

==================  ==========================================================  =========
folder              chosen as (first that applies)                              env
==================  ==========================================================  =========
data root           ``$DAEC_VIZ_DATA``; the source checkout's ``data/`` when     DAEC_VIZ_DATA
                    the package runs from one (a ``pyproject.toml`` naming
                    daec-viz beside the package); ``$XDG_DATA_HOME/daec-viz``;
                    ``~/.local/share/daec-viz``
cache root          ``$DAEC_VIZ_CACHE``; ``$XDG_CACHE_HOME/daec-viz``;            DAEC_VIZ_CACHE
                    ``~/.cache/daec-viz``
==================  ==========================================================  =========

Folders are created with the process umask (never a private 0700 folder a teammate
cannot read); :func:`follow_umask` gives a folder made by ``tempfile.mkdtemp`` the same
mode.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_root", "demo_dir", "cache_root", "source_checkout", "follow_umask",
           "ENV_DATA", "ENV_CACHE"]

ENV_DATA = "DAEC_VIZ_DATA"
ENV_CACHE = "DAEC_VIZ_CACHE"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def source_checkout() -> Path | None:
    """The source checkout the package runs from (editable install or ``python -m``
    inside the repository), or None for a regular install."""
    root = _PACKAGE_DIR.parent
    pyproject = root / "pyproject.toml"
    try:
        if pyproject.is_file() and 'name = "daec-viz"' in pyproject.read_text("utf-8"):
            return root
    except OSError:
        pass
    return None


def data_root() -> Path:
    """Where generated data goes (see the module docstring)."""
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    checkout = source_checkout()
    if checkout is not None:
        return checkout / "data"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "daec-viz"


def demo_dir() -> Path:
    """The bundled demo's folder: ``data_root() / "demo"``."""
    return data_root() / "demo"


def cache_root() -> Path:
    """Where results are cached (sweeps): see the module docstring."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "daec-viz"


def follow_umask(folder: Path) -> None:
    """Give ``folder`` the mode a plain ``mkdir`` would (0o777 minus the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(folder, 0o777 & ~mask)
