"""Tests of the demo dataset builder (daec_viz.synthetic.demo) and ``daec-viz demo``."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from daec_viz.decoding import decode
from daec_viz.exceptions import InputError
from daec_viz.io import paths
from daec_viz.io.datasets import load_dataset
from daec_viz.synthetic import demo as demo_mod
from daec_viz.synthetic.demo import DEMO_VERSION, build_demo, demo_version_of, ensure_demo
from daec_viz.synthetic.simulate import MODEL_NAME, NetworkKnobs

N_SMALL = 16


def _digests(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    build_demo(out, seed=1, n_images=N_SMALL)
    return out


def test_small_build_loads(small_demo):
    path = small_demo
    ds = load_dataset(path)
    assert ds.meta.simulated and ds.meta.model == MODEL_NAME
    assert ds.meta.convention == "hrnet" and ds.meta.sigma == 2.0
    assert ds.meta.heatmap_size == (48, 64) and ds.meta.input_size == (192, 256)
    prov = ds.meta.provenance
    assert prov["demo_version"] == DEMO_VERSION and prov["seed"] == 1
    assert NetworkKnobs.from_dict(prov["knobs"]) == NetworkKnobs()
    assert sorted(ds.splits) == ["test", "train"]
    images = ds.coco.dataset["images"]
    assert len(images) == N_SMALL
    n_train = sum(im["split"] == "train" for im in images)
    assert n_train == round(0.6 * N_SMALL)
    split_of = {im["id"]: im["split"] for im in images}
    assert (ds.instances["split"] == ds.instances["image_id"].map(split_of)).all()
    for im in images:
        assert ds.image_path(im["id"]) is not None
        assert 320 <= im["width"] <= 480


def test_annotations_are_realistic(small_demo):
    path = small_demo
    d = json.loads((path / "annotations.json").read_text())
    per_image = np.bincount([a["image_id"] for a in d["annotations"]])
    assert per_image[1:].max() <= 3
    kp = np.array([a["keypoints"] for a in d["annotations"]]).reshape(-1, 17, 3)
    v = kp[..., 2]
    assert set(np.unique(v)) <= {0, 1, 2}
    assert 0.5 < (v == 2).mean() < 0.95 and (v == 1).any() and (v == 0).any()
    assert (kp[v == 0][:, :2] == 0).all()
    for a, k in zip(d["annotations"], kp, strict=True):
        x, y, w, h = a["bbox"]
        assert 0 < a["area"] <= w * h
        assert a["num_keypoints"] == int((k[:, 2] > 0).sum())
    # labelled keypoints lie inside their image
    size = {im["id"]: (im["width"], im["height"]) for im in d["images"]}
    for a, k in zip(d["annotations"], kp, strict=True):
        w, h = size[a["image_id"]]
        lab = k[:, 2] > 0
        assert (k[lab, 0] >= 0).all() and (k[lab, 0] <= w - 1).all()
        assert (k[lab, 1] >= 0).all() and (k[lab, 1] <= h - 1).all()


def test_same_seed_same_bytes(small_demo, tmp_path):
    path = small_demo
    again = build_demo(tmp_path / "again", seed=1, n_images=N_SMALL)
    assert _digests(again) == _digests(path)
    other = build_demo(tmp_path / "other", seed=2, n_images=N_SMALL)
    assert _digests(other)["annotations.json"] != _digests(path)["annotations.json"]


def test_knobs_change_heatmaps_not_images(small_demo, tmp_path):
    path = small_demo
    nf = build_demo(tmp_path / "nf", seed=1, n_images=N_SMALL, knobs=NetworkKnobs.noise_free())
    a, b = _digests(path), _digests(nf)
    assert a["heatmaps.h5"] != b["heatmaps.h5"]
    assert {k: v for k, v in a.items() if k != "heatmaps.h5"} == \
        {k: v for k, v in b.items() if k != "heatmaps.h5"}
    # consistency: noise-free maps decode (DARK) to the GT of the visible joints
    ds = load_dataset(nf)
    rows = np.arange(len(ds))
    gt = ds.gt_keypoints(rows)
    aff = ds.affines(rows)
    gain = aff[:, [0, 1], [0, 1]]                       # image px per heatmap px
    pred = ds.to_image(decode(np.asarray(ds.heatmaps[:]), "dark").coords, rows)
    err_hm = np.abs(pred - gt[..., :2]) / gain[:, None, :]
    vis = gt[..., 2] == 2
    assert vis.sum() > 50
    assert np.nanmax(err_hm[vis]) < 0.05


def test_bias_knob_moves_mean_error(tmp_path):
    knobs = NetworkKnobs.noise_free().replace(quantize_targets=True, bias=(0.6, 0.3))
    out = build_demo(tmp_path / "b", seed=4, n_images=N_SMALL, knobs=knobs)
    ds = load_dataset(out)
    rows = np.arange(len(ds))
    gt = ds.gt_keypoints(rows)
    gain = ds.affines(rows)[:, [0, 1], [0, 1]]
    pred = ds.to_image(decode(np.asarray(ds.heatmaps[:]), "dark").coords, rows)
    err_hm = (pred - gt[..., :2]) / gain[:, None, :]
    vis = gt[..., 2] == 2
    np.testing.assert_allclose(err_hm[vis].mean(axis=0), (0.6, 0.3), atol=0.06)


def test_failed_build_leaves_nothing(tmp_path):
    def boom(fraction: float, message: str) -> None:
        if fraction > 0.3:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        build_demo(tmp_path / "d", seed=0, n_images=N_SMALL, progress=boom)
    assert list(tmp_path.iterdir()) == []


def test_progress_reaches_one_and_refuses_overwrite(tmp_path):
    seen: list[float] = []
    out = build_demo(tmp_path / "d", seed=0, n_images=4, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(InputError):
        build_demo(out, seed=0, n_images=4, overwrite=False)
    with pytest.raises(InputError):
        build_demo(tmp_path / "x", n_images=1)


@pytest.fixture()
def small_builds(monkeypatch) -> list[Path]:
    """ensure_demo builds a 4-image demo instead of the 300-image one; the folders built."""
    calls: list[Path] = []
    real = demo_mod.build_demo

    def small(out, **kw):
        calls.append(Path(out))
        return real(out, seed=0, n_images=4, progress=kw.get("progress"))

    monkeypatch.setattr(demo_mod, "build_demo", small)
    return calls


def test_ensure_demo_builds_once_and_rebuilds_stale(tmp_path, monkeypatch, small_builds):
    calls = small_builds
    root = tmp_path / "demo"
    assert ensure_demo(root) == root.resolve() and len(calls) == 1
    ensure_demo(root)
    assert len(calls) == 1                                  # up to date: not rebuilt
    monkeypatch.setattr(demo_mod, "DEMO_VERSION", "999")
    assert demo_version_of(root) == DEMO_VERSION
    ensure_demo(root)
    assert len(calls) == 2                                  # stale: rebuilt


def test_demo_goes_where_the_env_variable_says(tmp_path, monkeypatch, small_builds):
    from daec_viz.cli.common import open_dataset

    data = tmp_path / "data"
    monkeypatch.setenv(paths.ENV_DATA, str(data))
    monkeypatch.chdir(tmp_path)  # no folder called "demo" here: "demo" means the bundled one
    old = os.umask(0o022)
    try:
        root = ensure_demo()
        ds = open_dataset("demo")                           # the CLI finds the same folder
    finally:
        os.umask(old)
    assert root == (data / "demo").resolve() and small_builds == [data / "demo"]
    assert ds.path.resolve() == root
    # mkdtemp's 0700 would hide the demo from other users; a plain mkdir's mode instead
    assert stat.S_IMODE(root.stat().st_mode) == 0o777 & ~0o022


def test_an_installed_package_writes_nothing_beside_itself(tmp_path, monkeypatch,
                                                           small_builds):
    # an installed layout: site-packages/daec_viz with no project pyproject.toml beside it
    site = tmp_path / "site-packages"
    (site / "daec_viz").mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE_DIR", site / "daec_viz")
    assert paths.source_checkout() is None
    real_pkg = Path(demo_mod.__file__).resolve().parents[1]
    caches_before = set(real_pkg.rglob("heatmaps.h5"))

    monkeypatch.setenv(paths.ENV_DATA, str(tmp_path / "env"))
    assert ensure_demo() == (tmp_path / "env" / "demo").resolve()
    monkeypatch.delenv(paths.ENV_DATA)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    user = tmp_path / "home" / ".local" / "share" / "daec-viz" / "demo"
    assert ensure_demo() == user.resolve() and len(small_builds) == 2
    assert list(site.rglob("*")) == [site / "daec_viz"]          # nothing in site-packages
    assert set(real_pkg.rglob("heatmaps.h5")) == caches_before   # nor in the package


def test_cli_demo(tmp_path, capsys):
    from daec_viz.cli import build_parser

    parser = build_parser()
    if "demo" not in parser._subparsers._group_actions[0].choices:  # not registered yet
        import argparse

        from daec_viz.cli import demo_cmd

        parser = argparse.ArgumentParser()
        demo_cmd.register(parser.add_subparsers())
    out = tmp_path / "d"
    args = parser.parse_args(["demo", str(out), "--images", "4", "--bias", "0.1", "0.2",
                              "--json"])
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["knobs"]["bias"] == [0.1, 0.2] and summary["images"] == 4
    args = parser.parse_args(["demo", str(out), "--images", "4"])
    with pytest.raises(InputError):
        args.func(args)
    args = parser.parse_args(["demo", str(out), "--images", "4", "--noise-free", "--force",
                              "--quiet"])
    assert args.func(args) == 0
    assert load_dataset(out).meta.provenance["knobs"]["fit_noise"] == 0.0


def test_demo_cli_pipeline_records_pipeline_and_flip_mode(tmp_path, capsys):
    from daec_viz.cli import main
    from daec_viz.synthetic.pipeline import PipelineSettings

    out = tmp_path / "pl"
    rc = main(["demo", str(out), "--images", "4", "--pipeline", "udp", "--flip-test", "shift",
               "--noise-free", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pipeline"]["pipeline"] == "udp" and summary["knobs"]["bias"] == [0.0, 0.0]
    ds = load_dataset(out)
    assert (ds.meta.pipeline, ds.meta.flip_mode, ds.meta.flip_test) == ("udp", "shift", True)
    assert ds.meta.convention == "udp"
    assert PipelineSettings.from_dict(ds.meta.provenance["pipeline"]) == \
        PipelineSettings("udp", "shift")
    # the classic demo records the MSRA pipeline without flip test
    classic = load_dataset(build_demo(tmp_path / "c", seed=0, n_images=3))
    assert (classic.meta.pipeline, classic.meta.flip_mode) == ("hrnet", "none")
    assert main(["demo", str(tmp_path / "bad"), "--images", "3", "--leak", "2"]) == 2
