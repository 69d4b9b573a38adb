"""Which folders the app may open: the data root policy of the app served to a browser.

Anyone who can reach the app's port can type a path into its sidebar (or a link's
``?dataset=``), so a typed path is only opened when it lies inside an *allowed root*:

- the **data root**: ``$DAEC_VIZ_APP_ROOT`` (``daec-viz app --root DIR`` sets it), else
  the home folder of the user running the server;
- the bundled demo's folder (:func:`daec_viz.io.paths.demo_dir`), which the app builds
  itself;
- the dataset the operator preselected (``daec-viz app DATASET``, ``streamlit run app.py
  -- --dataset DIR`` or ``$DAEC_VIZ_DATASET``): whoever starts the server chose it, and
  with it the targets of its linked members (``daec-viz infer`` links ``OUT/images`` to
  the user's images folder).

A typed path is expanded (``~``), made absolute against the data root when relative, and
*resolved* (every symlink and ``..`` followed) before it is checked, so neither ``..`` nor
a symlink leads out of a root. The files the app reads from a dataset folder
(``annotations.json``, ``heatmaps.h5``/``.npz``, the images) must resolve inside the
dataset folder or an allowed root too: a symlink inside the folder that points elsewhere
is refused the same way. Refusals are :class:`~daec_viz.exceptions.InputError` naming the
path typed and the root(s), which the app shows as ``st.error``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from daec_viz.exceptions import InputError

__all__ = ["ENV_ROOT", "FIELD", "MEMBERS", "app_root", "allowed_roots", "resolve_path",
           "inside", "check_dataset_folder", "allowed_file"]

#: Environment variable holding the data root (``daec-viz app --root`` sets it).
ENV_ROOT = "DAEC_VIZ_APP_ROOT"
#: The field named in refusals.
FIELD = "dataset folder"
#: What the app reads from a dataset folder (checked when present).
MEMBERS = ("annotations.json", "heatmaps.h5", "heatmaps.npz", "images")


def app_root() -> Path:
    """The data root: ``$DAEC_VIZ_APP_ROOT`` when set, else the user's home, resolved."""
    env = os.environ.get(ENV_ROOT, "").strip()
    return Path(os.path.realpath(os.path.expanduser(env) if env else Path.home()))


def allowed_roots(preselected: str | os.PathLike | None = None) -> tuple[Path, ...]:
    """The data root, the demo folder and the operator's ``preselected`` dataset folder
    (if any), each resolved; duplicates dropped, order kept (the data root first)."""
    from daec_viz.io.paths import demo_dir
    roots = [app_root(), Path(os.path.realpath(demo_dir()))]
    if preselected:
        folder = Path(os.path.realpath(os.path.expanduser(os.fspath(preselected))))
        roots.append(folder)
        # whoever starts the server chose this dataset, its linked members included:
        # `daec-viz infer` links OUT/images to the user's own images folder
        for name in MEMBERS:
            if os.path.islink(folder / name):
                roots.append(Path(os.path.realpath(folder / name)))
    return tuple(dict.fromkeys(roots))


def resolve_path(typed: str | os.PathLike, base: Path) -> Path:
    """``typed`` expanded (``~``), joined to ``base`` when relative, with every symlink and
    ``..`` followed (the path need not exist). Raises :class:`InputError` for a path no
    file system accepts (an embedded NUL byte, an empty string)."""
    text = os.fspath(typed)
    if not isinstance(text, str) or not text.strip():
        raise InputError("empty path; type a dataset folder", field=FIELD)
    if "\x00" in text:
        raise InputError("a path cannot contain a NUL byte", field=FIELD, path=repr(text))
    p = os.path.expanduser(text.strip())
    try:
        return Path(os.path.realpath(os.path.join(base, p)))
    except (OSError, ValueError) as exc:  # e.g. a name longer than the system allows
        raise InputError(f"not a usable path ({exc})", field=FIELD, path=text) from exc


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """True when the resolved ``path`` is one of ``roots`` (resolved) or below one.

    Compares path components, not strings: ``/data-other`` is not inside ``/data``.
    """
    return any(path == r or r in path.parents for r in roots)


def _refuse(typed: str | os.PathLike, resolved: Path, roots: Sequence[Path],
            what: str = "") -> InputError:
    where = ", ".join(str(r) for r in roots)
    shown = os.fspath(typed)
    via = "" if str(resolved) == shown else f" (it resolves to {resolved})"
    return InputError(f"{what}outside the folders this app may open{via}: {where}. Open a "
                      f"dataset inside them, or start the app with `daec-viz app --root "
                      f"DIR` (${ENV_ROOT}) to allow another folder", field=FIELD,
                      path=shown)


def check_dataset_folder(typed: str | os.PathLike, roots: Sequence[Path]) -> Path:
    """The dataset folder ``typed`` resolved, once it is allowed: inside one of ``roots``
    (relative paths are taken from the first root), an existing folder, and each of its
    :data:`MEMBERS` that exists resolving inside it or inside ``roots`` (no symlink out).

    Raises
    ------
    InputError
        naming ``typed`` (and what it resolved to) and the allowed roots, or saying that
        it is not a folder.
    """
    if not roots:
        raise InputError("no folder is allowed (no data root configured)", field=FIELD,
                         path=os.fspath(typed))
    folder = resolve_path(typed, roots[0])
    if not inside(folder, roots):
        raise _refuse(typed, folder, roots)
    if not os.path.isdir(folder):  # False, not OSError, for e.g. a too-long name
        raise InputError("not a folder. Type the path of a dataset folder "
                         "(annotations.json + heatmaps.h5)", field=FIELD,
                         path=os.fspath(typed))
    within = (folder, *roots)
    for name in MEMBERS:
        member = folder / name
        if os.path.lexists(member):
            real = Path(os.path.realpath(member))
            if not inside(real, within):
                raise _refuse(member, real, roots, what=f"its {name} lies ")
    return folder


def allowed_file(path: str | os.PathLike | None, folder: str | os.PathLike,
                 roots: Sequence[Path] = ()) -> Path | None:
    """``path`` (a file the app is about to read from the dataset ``folder``, e.g. an
    image) when it resolves inside ``folder`` or ``roots``; None otherwise (a symlink out
    of them, or no path)."""
    if path is None:
        return None
    real = Path(os.path.realpath(path))
    ok = inside(real, (Path(os.path.realpath(folder)), *roots))
    return Path(path) if ok else None
