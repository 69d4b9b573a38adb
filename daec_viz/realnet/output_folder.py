"""The dataset folder ``daec-viz infer`` writes: which folders it may write, the images link.

``OUT`` must be new, empty, an unfinished run of ours (``PROGRESS_DIR`` inside), or, with
``overwrite``, a finished result (``MARKER_FILE`` lists what it created, and only that is
removed). A folder holding anything else (a user's dataset) is refused; the images folder
is only read.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from daec_viz.exceptions import InputError

PROGRESS_DIR = ".daec-viz-infer"
MARKER_FILE = ".daec-viz-infer.json"
CACHE_FILE = "heatmaps.h5"
ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"


def _atomic_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _prepare_out(out: Path, images: Path, overwrite: bool) -> None:
    """Check that OUT may be written; with overwrite, remove what an earlier run made."""
    out_r = out.resolve()
    images_r = images.resolve()
    if out_r == images_r or images_r in out_r.parents:
        raise InputError("the output folder must not be inside the images folder (the "
                         "input is never modified)", field="out", path=out)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", field="out", path=out)
    if not out.exists():
        return
    entries = {p.name for p in out.iterdir()}
    if MARKER_FILE not in entries:  # new, empty, or an unfinished run of ours
        ours = {PROGRESS_DIR, CACHE_FILE, ANNOTATIONS_FILE, IMAGES_DIR}
        if entries and (PROGRESS_DIR not in entries or entries - ours):
            raise InputError(f"exists and is not empty ({sorted(entries)[:5]}); choose a new "
                             f"or empty folder (a user's dataset folder is never written "
                             f"into)", field="out", path=out)
        return
    if not overwrite:
        raise InputError("holds a finished `daec-viz infer` result; pass --overwrite "
                         "(overwrite=True) to replace it", field="out", path=out)
    try:
        made = json.loads((out / MARKER_FILE).read_text(encoding="utf-8")).get("created", [])
    except (OSError, json.JSONDecodeError, AttributeError):
        made = []
    for name in made:
        if name not in (CACHE_FILE, ANNOTATIONS_FILE, IMAGES_DIR, PROGRESS_DIR):
            continue
        p = out / name
        if p.is_symlink() or p.is_file():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)
    (out / MARKER_FILE).unlink()


def _link_or_copy_images(out: Path, images: Path, file_names: list[str], copy: bool) -> str:
    dest = out / IMAGES_DIR
    if dest.is_symlink() or dest.exists():
        if dest.is_symlink() and dest.resolve() == images.resolve() and not copy:
            return "symlink"
        if dest.is_symlink():
            dest.unlink()
        elif not copy:
            shutil.rmtree(dest)
    if not copy:
        try:
            dest.symlink_to(images.resolve(), target_is_directory=True)
            return "symlink"
        except OSError:  # no symlinks here (e.g. Windows without the privilege): copy
            pass
    for name in file_names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copy2(images / name, target)
    return "copy"
