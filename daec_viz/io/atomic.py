"""Atomic file writes: an interrupted run never leaves a half file under the final name.

Every file the CLI and the app write (sweep tables, the chosen Δ, results json, the
sweep cache) goes through :func:`atomic_write`: the data is written to a temporary file
in the same folder (``.NAME.XXXX.partial``, so the final ``os.replace`` is a rename on
one file system), flushed and fsync'ed, given the mode a plain ``open(path, "w")`` would
give (the process umask, not ``tempfile``'s private 0600), and renamed over the final
name. On any error (or Ctrl-C) the temporary file is removed and the previous file, if
any, is left as it was. :class:`~daec_viz.io.writer.HeatmapWriter` does the same for
caches (``.partial`` then rename).

Examples
--------
>>> import json, pathlib, tempfile
>>> out = pathlib.Path(tempfile.mkdtemp()) / "results.json"
>>> with atomic_write(out) as fh:
...     json.dump([1, 2], fh)
>>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
('[1, 2]', ['results.json'])
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "write_text_atomic", "write_json_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8"
                 ) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    Parameters
    ----------
    path : the final file name (its folder must exist).
    mode : ``"w"`` (text, ``encoding``) or ``"wb"`` (bytes).

    Yields the open file. Nothing is left under ``path`` or beside it when the block
    raises.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if mode == "wb" else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (best effort)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, encoding=encoding) as fh:
        fh.write(text)


def write_json_atomic(path: str | Path, obj: Any, **dump_options: Any) -> None:
    """``json.dump(obj)`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as fh:
        json.dump(obj, fh, **dump_options)
