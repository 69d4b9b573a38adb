"""Bad input, images and MPII files: one line naming the file (and field), never a
traceback; inputs never modified. (The MPII reader is being extended elsewhere: these
cases only check that every message is clean.)"""

from __future__ import annotations

import io
import shutil

import h5py
import numpy as np
import pytest
import scipy.io
from bad_input_support import deny_reads, expect_error, run_cli
from PIL import Image
from synthetic import make_dataset

from daec_viz.exceptions import DatasetError
from daec_viz.io import datasets as datasets_mod
from daec_viz.io.datasets import load_dataset, read_image


@pytest.fixture(scope="module")
def ds_with_images(tmp_path_factory):
    folder = make_dataset(tmp_path_factory.mktemp("img") / "ds", n_images=3, size=(20, 50))
    (folder / "images").mkdir()
    for i in range(3):
        Image.new("RGB", (64, 48), (i * 40, 10, 10)).save(folder / "images" / f"{1000 + i}.jpg")
    return folder


def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


IMAGE_CASES = [
    ("zero-bytes", b"", "not an image"),
    ("text", b"hello, I am not a JPEG", "not an image"),
    ("truncated-jpeg", _jpeg_bytes()[:200], "cannot read the image"),
    ("png-header-only", b"\x89PNG\r\n\x1a\n", "cannot read the image"),
    ("gif-garbage", b"GIF89a" + b"\xff" * 20, "cannot read the image"),
]


@pytest.mark.parametrize("data, expected", [c[1:] for c in IMAGE_CASES],
                         ids=[c[0] for c in IMAGE_CASES])
def test_unreadable_image_file(ds_with_images, tmp_path, data, expected):
    folder = tmp_path / "ds"
    shutil.copytree(ds_with_images, folder)
    (folder / "images" / "1000.jpg").write_bytes(data)
    ds = load_dataset(folder)
    expect_error(ds.image, 1000, exc=DatasetError, inputs=(folder,),
                 mentions=("1000.jpg", "field `images`"))
    assert ds.image(1001).shape == (48, 64, 3)  # the others still read


def test_png_named_jpg_reads(ds_with_images, tmp_path):
    """Wrong extension, right content: read by content."""
    p = tmp_path / "x.jpg"
    Image.new("RGB", (8, 6), (1, 2, 3)).save(p, "PNG")
    assert read_image(p)[0, 0].tolist() == [1, 2, 3]


def test_grey_and_rgba_images_become_rgb(tmp_path):
    for mode in ("L", "RGBA", "I;16", "P"):
        p = tmp_path / f"{mode.replace(';', '')}.png"
        Image.new(mode, (8, 6)).save(p)
        assert read_image(p).shape == (6, 8, 3)


def test_huge_image_refused_from_header(tmp_path, monkeypatch):
    p = tmp_path / "big.png"
    Image.new("RGB", (100, 100)).save(p)
    monkeypatch.setattr(datasets_mod, "MAX_IMAGE_PIXELS", 5000)
    expect_error(read_image, p, exc=DatasetError, mentions=("big.png", "100 x 100", "at most"))


def test_image_is_a_folder_means_no_overlay(ds_with_images, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(ds_with_images, folder)
    (folder / "images" / "1000.jpg").unlink()
    (folder / "images" / "1000.jpg").mkdir()
    ds = load_dataset(folder)
    assert ds.image(1000) is None
    assert any("missing" in w for w in ds.warnings)


def test_missing_images_warn_in_info(ds_with_images, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(ds_with_images, folder)
    (folder / "images" / "1002.jpg").unlink()
    res = run_cli(["info", folder], inputs=(folder,), code=0)
    assert "warning:" in res.out and "1002.jpg" in res.out


def test_image_unreadable_emulated(ds_with_images, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(ds_with_images, folder)
    ds = load_dataset(folder)
    with deny_reads(folder / "images"):
        expect_error(ds.image, 1000, exc=DatasetError,
                     mentions=("1000.jpg", "Permission denied"))


def test_image_symlink_into_unreadable_folder_emulated(ds_with_images, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(ds_with_images, folder)
    secret = tmp_path / "secret"
    secret.mkdir()
    (folder / "images" / "1000.jpg").rename(secret / "1000.jpg")
    (folder / "images" / "1000.jpg").symlink_to(secret / "1000.jpg")
    ds = load_dataset(folder)
    with deny_reads(secret):
        expect_error(ds.image, 1000, exc=DatasetError, mentions=("1000.jpg",))


# ---------------------------------------------------------------------------- MPII

@pytest.fixture(scope="module")
def mpii_annot(tmp_path_factory):
    p = tmp_path_factory.mktemp("mpii") / "valid.h5"
    rng = np.random.default_rng(0)
    with h5py.File(p, "w") as f:
        f["part"] = rng.uniform(10, 200, (5, 16, 2))
        f["normalize"] = np.full(5, 30.0)
        f["center"] = rng.uniform(50, 150, (5, 2))
        f["scale"] = np.ones(5)
    return p


def _mat73(path, arr):
    """A MATLAB v7.3 file: HDF5 behind a 512-byte MATLAB header (userblock)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        f["preds"] = arr
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116, b" "))


def _h5(path, **arrays):
    """An HDF5 file holding ``arrays`` (a value None makes a group), closed."""
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            if value is None:
                f.create_group(name)
            else:
                f[name] = value


def _truncate(path, n):
    path.write_bytes(path.read_bytes()[:n])


MPII_PRED_CASES = [
    ("missing-file", None, "not found"),
    ("empty-file", lambda p: p.write_bytes(b""), "preds"),
    ("text-file", lambda p: p.write_text("1 2 3"), "preds"),
    ("mat-wrong-variable", lambda p: scipy.io.savemat(p, {"other": np.zeros((5, 16, 2))}),
     "preds"),
    ("mat-wrong-shape", lambda p: scipy.io.savemat(p, {"preds": np.zeros((5, 14, 2))}),
     "preds"),
    ("mat-strings", lambda p: scipy.io.savemat(p, {"preds": np.array(["a", "b"])}), "preds"),
    ("mat-wrong-count", lambda p: scipy.io.savemat(p, {"preds": np.zeros((4, 16, 2))}),
     "preds"),
    ("mat-truncated", lambda p: (scipy.io.savemat(p, {"preds": np.ones((5, 16, 2))}),
                                 p.write_bytes(p.read_bytes()[:300])), "preds"),
    ("h5-wrong-shape", lambda p: _h5(p, preds=np.zeros(3)), "preds"),
    ("h5-group", lambda p: _h5(p, preds=None), "preds"),
    ("h5-strings", lambda p: _h5(p, preds=np.array([b"a"] * 5)), "preds"),
    ("h5-truncated", lambda p: (_h5(p, preds=np.ones((5, 16, 2))), _truncate(p, 1000)),
     "preds"),
    ("v73-wrong-shape", lambda p: _mat73(p, np.zeros((7, 16, 3))), "preds"),
    ("v73-truncated", lambda p: (_mat73(p, np.ones((5, 16, 2))), _truncate(p, 900)),
     "preds"),
    ("npz-not-read", lambda p: np.savez(p, preds=np.zeros((5, 16, 2))), "preds"),
]


@pytest.mark.parametrize("make, expected", [c[1:] for c in MPII_PRED_CASES],
                         ids=[c[0] for c in MPII_PRED_CASES])
def test_bad_mpii_predictions(mpii_annot, tmp_path, make, expected):
    p = tmp_path / "preds.mat"
    if make is not None:
        make(p)
    inputs = (mpii_annot,) + ((p,) if p.exists() else ())
    run_cli(["pckh", mpii_annot, p], inputs=inputs, code=None, mentions=("preds.mat",))


MPII_ANNOT_CASES = [
    ("missing", None),
    ("not-hdf5", lambda p: p.write_text("nope")),
    ("no-part", lambda p: _h5(p, normalize=np.ones(5))),
    ("part-wrong-shape", lambda p: _h5(p, part=np.ones((5, 3)), normalize=np.ones(5))),
    ("normalize-wrong-length", lambda p: _h5(p, part=np.ones((5, 16, 2)),
                                             normalize=np.ones(3))),
    ("truncated", lambda p: (_h5(p, part=np.ones((5, 16, 2)), normalize=np.ones(5)),
                             _truncate(p, 1500))),
]


@pytest.mark.parametrize("make", [c[1] for c in MPII_ANNOT_CASES],
                         ids=[c[0] for c in MPII_ANNOT_CASES])
def test_bad_mpii_annotations(tmp_path, make):
    p = tmp_path / "valid.h5"
    if make is not None:
        make(p)
    preds = tmp_path / "preds.mat"
    scipy.io.savemat(preds, {"preds": np.ones((5, 16, 2))})
    inputs = (preds,) + ((p,) if p.exists() else ())
    run_cli(["pckh", p, preds], inputs=inputs, code=None, mentions=("valid.h5",))
