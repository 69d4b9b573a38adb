"""MPII prediction files in every format: MATLAB v5 and v7.3, plain HDF5 (both layouts).

Each file is written here, in the layout its writer produces (scipy.io.savemat; MATLAB
v7.3: HDF5 behind MATLAB's 512-byte header, arrays column-major, i.e. axes reversed as
h5py sees them; h5py/numpy; eval-mpii-pose's ``newell.h5`` (N, 16, 2) float64 and
``tompson.h5`` (2, 16, N) float32, its reference evaluation reading both with
``h5read`` + ``permute(preds, [3, 2, 1])`` when the first axis is 2), and read back to
the known array. The real hg_s2 predictions of ../shared/data, rewritten in each
format, give the same PCKh table through the CLI.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.io.matlab
from shared_data import MPII_VALID as MPII

from daec_viz import cli
from daec_viz.exceptions import InputError
from daec_viz.io.mpii import load_mpii_predictions, prediction_format

ANNOT = MPII / "valid.h5"
PREDS = MPII / "preds_hg_s2_b1.mat"


def write_mat73(path, **arrays):
    """A MATLAB v7.3 file as MATLAB writes it: a 512-byte userblock with the MAT header
    (116 text bytes, subsystem offset, version 0x0200, endianness 'IM'), then HDF5 with
    each array column-major (axes reversed) and its MATLAB_class."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, a in arrays.items():
            a = np.asarray(a)
            ds = f.create_dataset(name, data=a.T)
            ds.attrs["MATLAB_class"] = np.bytes_("double" if a.dtype == np.float64 else
                                                 "single")
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 " \
           b"HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as f:
        f.write(header.ljust(512, b"\x00"))


def write_h5(path, name="preds", **kw):
    with h5py.File(path, "w") as f:
        f[name] = kw["data"]


@pytest.fixture
def truth():
    rng = np.random.default_rng(13)
    return rng.uniform(1, 1000, (5, 16, 2)).round(2)  # (N, 16, 2), x then y


def test_v73_header_is_matlabs(tmp_path, truth):
    # scipy recognises the file as v7.3 and refuses it: the failure the issue reports
    write_mat73(tmp_path / "p.mat", preds=truth)
    assert scipy.io.matlab.matfile_version(str(tmp_path / "p.mat"))[0] == 2
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(str(tmp_path / "p.mat"))
    assert prediction_format(tmp_path / "p.mat") == "mat73"


@pytest.mark.parametrize("case", [
    "mat5_n16x2", "mat5_2x16n", "mat73_n16x2", "mat73_2x16n", "h5_n16x2", "h5_2x16n",
    "h5_float32_2x16n_tompson", "h5_group_path", "h5_named_mat73_extension"])
def test_every_format_reads_back_the_known_array(tmp_path, truth, case):
    t = truth
    field = "preds"
    if case == "mat5_n16x2":
        path = tmp_path / "p.mat"
        scipy.io.savemat(path, {"preds": t})
    elif case == "mat5_2x16n":  # bearpaw-style transposed variable
        path = tmp_path / "p.mat"
        scipy.io.savemat(path, {"preds": t.transpose(2, 1, 0)})
    elif case == "mat73_n16x2":  # MATLAB: preds = zeros(N, 16, 2); save -v7.3
        path = tmp_path / "p.mat"
        write_mat73(path, preds=t)
    elif case == "mat73_2x16n":  # MATLAB: preds of size 2 x 16 x N
        path = tmp_path / "p.mat"
        write_mat73(path, preds=t.transpose(2, 1, 0))
    elif case == "h5_n16x2":  # h5py/numpy (N, 16, 2), as newell.h5
        path = tmp_path / "p.h5"
        write_h5(path, data=t)
    elif case in ("h5_2x16n", "h5_float32_2x16n_tompson"):  # tompson.h5: (2, 16, N) float32
        path = tmp_path / "p.h5"
        t = t.astype(np.float32).astype(np.float64) if "float32" in case else t
        write_h5(path, data=t.transpose(2, 1, 0).astype(
            np.float32 if "float32" in case else np.float64))
    elif case == "h5_group_path":
        path = tmp_path / "p.h5"
        field = "results/preds"
        write_h5(path, name=field, data=t)
    else:  # content, not the name, decides
        path = tmp_path / "p.mat"
        write_h5(path, data=t)
    got = load_mpii_predictions(path, field=field)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, t)


def test_ambiguous_n2_follows_evalmpii(tmp_path):
    # N = 2 makes (2, 16, 2) ambiguous: evalMPII.m permutes whenever MATLAB's first axis
    # is 2, so a v5 array is the (2, 16, N) layout and an h5py-written one is (N, 16, 2)
    a = np.arange(64, dtype=float).reshape(2, 16, 2)
    scipy.io.savemat(tmp_path / "p.mat", {"preds": a})
    np.testing.assert_array_equal(load_mpii_predictions(tmp_path / "p.mat"),
                                  a.transpose(2, 1, 0))
    write_h5(tmp_path / "p.h5", data=a)
    np.testing.assert_array_equal(load_mpii_predictions(tmp_path / "p.h5"), a)


def test_unknown_formats_name_the_known_ones(tmp_path, truth):
    np.save(tmp_path / "p.npy", truth)
    (tmp_path / "p.txt").write_text("1 2 3\n")
    (tmp_path / "empty.mat").write_bytes(b"")
    for name in ("p.npy", "p.txt", "empty.mat"):
        with pytest.raises(InputError, match=r"known formats: MATLAB \.mat v4-v7") as e:
            load_mpii_predictions(tmp_path / name)
        assert str(e.value).startswith(str(tmp_path / name))
    with pytest.raises(InputError, match="file not found"):
        load_mpii_predictions(tmp_path / "absent.h5")


def test_bad_contents_name_file_field_and_expectation(tmp_path, truth):
    scipy.io.savemat(tmp_path / "q.mat", {"other": truth, "more": 1.0})
    with pytest.raises(InputError, match=r"q.mat: field `preds`: missing \(the file holds "
                                         r"\['other', 'more'\]"):
        load_mpii_predictions(tmp_path / "q.mat")
    write_mat73(tmp_path / "r.mat", pred=truth)
    with pytest.raises(InputError, match=r"field `preds`: missing \(the MATLAB v7.3 file "
                                         r"holds datasets \['pred'\]"):
        load_mpii_predictions(tmp_path / "r.mat")
    write_h5(tmp_path / "s.h5", name="coords", data=truth)
    with pytest.raises(InputError, match=r"HDF5 file holds datasets \['coords'\]"):
        load_mpii_predictions(tmp_path / "s.h5")
    np.testing.assert_array_equal(load_mpii_predictions(tmp_path / "s.h5", field="coords"),
                                  truth)
    with h5py.File(tmp_path / "g.h5", "w") as f:
        f.create_group("preds")
    with pytest.raises(InputError, match="is a group"):
        load_mpii_predictions(tmp_path / "g.h5")
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["preds"] = np.array([b"a", b"b"])
    with pytest.raises(InputError, match="t.h5: field `preds`: expected a numeric array"):
        load_mpii_predictions(tmp_path / "t.h5")
    scipy.io.savemat(tmp_path / "c.mat", {"preds": np.array(["ab", "cd"])})
    with pytest.raises(InputError, match="expected a numeric array"):
        load_mpii_predictions(tmp_path / "c.mat")
    # shapes are reported as the reading library shows them
    write_h5(tmp_path / "k.h5", data=np.zeros((5, 17, 2)))
    with pytest.raises(InputError, match=r"k.h5: field `preds`: expected an array of shape "
                                         r"\(N, 16, 2\) or \(2, 16, N\), got \(5, 17, 2\)"):
        load_mpii_predictions(tmp_path / "k.h5")
    write_mat73(tmp_path / "k.mat", preds=np.zeros((5, 17, 2)))
    with pytest.raises(InputError, match=r"got \(2, 17, 5\)"):  # h5py's view
        load_mpii_predictions(tmp_path / "k.mat")
    scipy.io.savemat(tmp_path / "v.mat", {"preds": np.zeros(32)})
    with pytest.raises(InputError, match=r"got \(1, 32\)"):
        load_mpii_predictions(tmp_path / "v.mat")


def test_cli_names_the_file_and_formats(tmp_path, capsys, truth):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["part"] = np.ones((5, 16, 2))
        f["normalize"] = np.ones(5)
    (tmp_path / "p.json").write_text("{}")
    assert cli.main(["pckh", str(tmp_path / "a.h5"), str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "p.json" in err and "MATLAB .mat v7.3 (HDF5)" in err
    write_h5(tmp_path / "p.h5", name="pred", data=truth)
    assert cli.main(["pckh", str(tmp_path / "a.h5"), str(tmp_path / "p.h5")]) == 2
    assert "['pred']" in capsys.readouterr().err
    # --field reads another dataset name; 4 instances against 5 is an error
    write_h5(tmp_path / "q.h5", name="pred", data=truth[:4])
    assert cli.main(["pckh", str(tmp_path / "a.h5"), str(tmp_path / "q.h5"),
                     "--field", "pred"]) == 2
    assert "expected 5 instances" in capsys.readouterr().err
    assert cli.main(["pckh", str(tmp_path / "a.h5"), str(tmp_path / "p.h5"),
                     "--field", "pred", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["PCKh@0.5"]["Mean"] == 0.0  # every GT at (1, 1), every prediction far away


@pytest.mark.skipif(not (ANNOT.is_file() and PREDS.is_file()), reason="mpii-valid absent")
def test_real_predictions_in_every_format_give_the_same_table(tmp_path, capsys):
    base = scipy.io.loadmat(str(PREDS))["preds"]  # (2958, 16, 2) float64
    assert base.shape == (2958, 16, 2)
    write_mat73(tmp_path / "v73.mat", preds=base)
    write_mat73(tmp_path / "v73t.mat", preds=base.transpose(2, 1, 0))
    write_h5(tmp_path / "newell_like.h5", data=base)
    write_h5(tmp_path / "tompson_like.h5", data=base.transpose(2, 1, 0))
    scipy.io.savemat(tmp_path / "v5t.mat", {"preds": base.transpose(2, 1, 0)})
    assert cli.main(["pckh", str(ANNOT), str(PREDS), "--json"]) == 0
    ref = json.loads(capsys.readouterr().out)
    assert ref["PCKh@0.5"]["Mean"] == pytest.approx(86.76, abs=0.005)  # published
    for name in ("v73.mat", "v73t.mat", "newell_like.h5", "tompson_like.h5", "v5t.mat"):
        np.testing.assert_array_equal(load_mpii_predictions(tmp_path / name), base)
        assert cli.main(["pckh", str(ANNOT), str(tmp_path / name), "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == ref, name
