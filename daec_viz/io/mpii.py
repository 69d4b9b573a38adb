"""MPII single-person files: the annotation ``.h5`` and prediction files in every format.

Predictions (:func:`load_mpii_predictions`) come as

- MATLAB ``.mat`` v4/v5/v7 (read with :func:`scipy.io.loadmat`; bearpaw's
  ``preds_valid.mat``, HRNet's ``pred.mat``),
- MATLAB ``.mat`` v7.3, which is HDF5 behind a 512-byte MATLAB header (read with h5py),
- plain HDF5 (``.h5``; eval-mpii-pose's ``newell.h5`` (N, 16, 2) float64 and
  ``tompson.h5`` (2, 16, N) float32, or files written with h5py/numpy),

each holding one numeric array, ``preds`` by default. The format is told from the file's
content, not its name. Layout rule (that of eval-mpii-pose's ``evalMPII.m``, the
reference evaluation these files were made for): take the array as MATLAB sees it
(``load`` for ``.mat``, ``h5read`` for HDF5, which reverses the axes of what h5py/numpy
see, since MATLAB is column-major), and if its first axis has length 2, permute it
``[3, 2, 1]``. In numpy terms: v4-v7 ``.mat`` arrays of shape (2, 16, N) are transposed to
(N, 16, 2); HDF5 and v7.3 arrays (as h5py reads them) of shape (2, 16, N) are transposed,
(N, 16, 2) are kept, including N = 2.

Coordinates are returned unchanged: image px of the original MPII images in MATLAB's
1-based convention, as in the stacked-hourglass ``valid.h5`` (see
:mod:`daec_viz.evaluation.pckh`). Nothing here unpickles: MATLAB and HDF5 files hold
no pickles, and numpy's ``.npy``/``.npz`` are not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from daec_viz.exceptions import InputError

__all__ = ["PREDICTION_FORMATS", "prediction_format", "load_mpii_predictions",
           "load_mpii_annotations"]

#: The prediction file formats :func:`load_mpii_predictions` reads (for messages and docs).
PREDICTION_FORMATS = ("MATLAB .mat v4-v7 (scipy.io)", "MATLAB .mat v7.3 (HDF5)",
                      "HDF5 .h5/.hdf5")
_KNOWN = ("known formats: " + ", ".join(PREDICTION_FORMATS)
          + ", each with a numeric array `preds` of shape (N, 16, 2) or (2, 16, N)")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def prediction_format(path: str | Path) -> str:
    """``"mat"`` (MATLAB v4-v7), ``"mat73"`` (MATLAB v7.3) or ``"hdf5"``, from the content.

    Raises InputError naming the file and the known formats for anything else.
    """
    import h5py
    import scipy.io.matlab

    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", path=p)
    with open(p, "rb") as f:
        head = f.read(128)
    if h5py.is_hdf5(str(p)):  # the signature at 0 or at a userblock offset (512, 1024, ...)
        return "mat73" if head.startswith(b"MATLAB 7.3") else "hdf5"
    try:
        major, _ = scipy.io.matlab.matfile_version(str(p))
    except (ValueError, OSError, TypeError, scipy.io.matlab.MatReadError):
        raise InputError(f"not a prediction file daec-viz can read; {_KNOWN}",
                         path=p) from None
    if major in (0, 1):
        return "mat"
    raise InputError(f"not a prediction file daec-viz can read (MATLAB file version "
                     f"{major}); {_KNOWN}", path=p)


def _matlab_view(path: Path, kind: str, field: str) -> np.ndarray:
    """The array ``field`` as MATLAB's ``load``/``h5read`` would see it."""
    if kind == "mat":
        import scipy.io

        try:
            names = [w[0] for w in scipy.io.whosmat(str(path))]
            value = (scipy.io.loadmat(str(path), variable_names=[field])[field]
                     if field in names else None)
        except (ValueError, OSError, NotImplementedError, TypeError) as exc:
            raise InputError(f"not a readable MATLAB .mat file ({exc}); {_KNOWN}",
                             path=path) from None
        if value is None:
            raise InputError(f"missing (the file holds {names or 'no variables'}); {_KNOWN}",
                             field=field, path=path)
        return _numeric(value, path, field)
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file ({exc}); {_KNOWN}", path=path) from None
    with f:
        obj = f.get(field)
        if obj is None:
            names: list[str] = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            what = "MATLAB v7.3 file" if kind == "mat73" else "HDF5 file"
            raise InputError(f"missing (the {what} holds datasets {names or 'none'}); "
                             f"{_KNOWN}", field=field, path=path)
        if not isinstance(obj, h5py.Dataset):
            raise InputError("is a group (a MATLAB struct or cell?), expected a numeric "
                             "array", field=field, path=path)
        value = obj[()]
    # h5py reads C order; MATLAB (h5read, and load of a v7.3 file) reverses the axes
    return _numeric(value, path, field).T


def _numeric(value: Any, path: Path, field: str) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise InputError(f"expected a numeric array, got dtype {a.dtype}", field=field,
                         path=path)
    return a.astype(np.float64)


def load_mpii_predictions(path: str | Path, field: str = "preds",
                          n_joints: int = 16) -> np.ndarray:
    """Predictions (N, 16, 2) float64, x then y in image px, from any known format.

    Parameters
    ----------
    path : a MATLAB ``.mat`` (v4-v7 or v7.3) or HDF5 file (told apart by content).
    field : the variable/dataset holding the predictions (``preds`` in every public
        MPII prediction file; an HDF5 path such as ``results/preds`` works too).
    n_joints : joints per person (16 for MPII).

    The layout rule and the coordinate convention (unchanged, 1-based MPII px) are in the
    module docstring. Raises :class:`~daec_viz.exceptions.InputError` naming the file,
    the field and what was expected: an unknown format (with the known ones), a missing
    field (with the fields the file holds), a non-numeric array, another shape.
    """
    p = Path(path)
    kind = prediction_format(p)
    m = _matlab_view(p, kind, field)
    shown = m.shape if kind == "mat" else m.shape[::-1]  # as scipy.io / h5py show it
    if m.ndim == 3 and m.shape[0] == 2:  # evalMPII.m: permute(preds, [3, 2, 1])
        m = m.transpose(2, 1, 0)
    if m.ndim != 3 or m.shape[1:] != (n_joints, 2):
        raise InputError(f"expected an array of shape (N, {n_joints}, 2) or (2, {n_joints}, "
                         f"N), got {shown}", field=field, path=p)
    return np.ascontiguousarray(m)


def load_mpii_annotations(path_h5: str | Path) -> dict[str, np.ndarray]:
    """Read an MPII annotation file in the stacked-hourglass ``.h5`` format.

    Returns every dataset of the file as an array (``center`` (N,2), ``scale`` (N,),
    ``part`` (N,16,2) image px, 1-based, (0, 0) where the joint is not labelled,
    ``visible`` (N,16), ``normalize`` (N,) px, ``imgname`` (N,) str, and any others
    present). Raises InputError naming the file and the missing field.
    """
    import h5py

    path = Path(path_h5)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file ({exc})", path=path) from None
    with f:
        out: dict[str, np.ndarray] = {}
        for key, ds in f.items():
            if isinstance(ds, h5py.Dataset):
                out[key] = ds[()]
    for key in ("part", "normalize"):
        if key not in out:
            raise InputError("missing", field=key, path=path)
    part = out["part"]
    if part.ndim != 3 or part.shape[1:] != (16, 2):
        raise InputError(f"expected shape (N, 16, 2), got {part.shape}", field="part",
                         path=path)
    if out["normalize"].shape != (part.shape[0],):
        raise InputError(f"expected shape ({part.shape[0]},), got {out['normalize'].shape}",
                         field="normalize", path=path)
    if "imgname" in out:
        out["imgname"] = np.array([s.decode() if isinstance(s, bytes) else str(s)
                                   for s in out["imgname"]])
    return out
