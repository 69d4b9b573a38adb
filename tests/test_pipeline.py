"""The pipeline model (daec_viz.synthetic.pipeline): the offsets derived in its docstring,
checked against the rendered noise-free maps and the noise-free demo datasets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daec_viz.decoding import decode
from daec_viz.exceptions import InputError
from daec_viz.io.datasets import load_dataset
from daec_viz.synthetic.demo import build_demo
from daec_viz.synthetic.pipeline import (
    PipelineSettings,
    convention_offset,
    encoded_centers,
    flip_branch_offset,
    flip_branch_offsets_exact,
    flip_test_offset,
    input_coords,
    leak_offset,
    offset_to_image,
    pass_centers,
    simulate_pipeline_heatmaps,
)
from daec_viz.synthetic.simulate import NetworkKnobs

PIPES = ("hrnet", "dark", "udp")


def _uniform_inputs(w: int, s: int, n_phase: int = 64) -> np.ndarray:
    """Input px spread uniformly over whole periods of the stride (no exact ties)."""
    x = np.arange(n_phase * 3) * (s / n_phase) + 0.5 * s / n_phase + 2 * s
    x = x[x < w - 2 * s]
    return np.stack([x, np.full_like(x, 10.0)], axis=-1)


@settings(max_examples=40, deadline=None)
@given(W=st.integers(8, 96), s=st.sampled_from([2, 3, 4, 8]),
       pipeline=st.sampled_from(PIPES), shift=st.booleans())
def test_flip_branch_offset_is_the_mean_of_the_exact_offsets(W, s, pipeline, shift):
    w = s * W
    u = _uniform_inputs(w, s, n_phase=8 * s)
    off = flip_branch_offsets_exact(u, pipeline, (w, 40), (W, 10), shift)
    assert np.all(off[:, 1] == 0)
    expect = flip_branch_offset(pipeline, w, W, shift)
    if pipeline == "hrnet":
        # integer offsets: -1/0 (noshift) or 0/+1 (shift), mean exactly 1/s - 1 (+1)
        assert set(np.unique(off[:, 0])) <= ({0.0, 1.0} if shift else {-1.0, 0.0})
        assert off[:, 0].mean() == pytest.approx(expect, abs=1e-12)
        assert expect == pytest.approx(1.0 / s if shift else -(s - 1.0) / s)
    else:  # exact per point: the unit-length label is flip-consistent
        np.testing.assert_allclose(off[:, 0], expect, atol=1e-9)
        assert expect == (1.0 if shift else 0.0)
    assert flip_test_offset(pipeline, "shift" if shift else "noshift", w, W) == 0.5 * expect
    assert flip_test_offset(pipeline, "none", w, W) == 0.0


def _boxes(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    c = np.column_stack([rng.uniform(200, 300, n), rng.uniform(200, 300, n)])
    s = np.column_stack([np.full(n, 1.2), np.full(n, 1.6)])
    kp = c[:, None, :] + rng.uniform(-60, 60, (n, 1, 2)) * np.array([1.0, 1.3])
    return kp, c, s


def _centroid(hm: np.ndarray) -> np.ndarray:
    m = hm[:, 0].astype(np.float64)
    yy, xx = np.mgrid[0:m.shape[1], 0:m.shape[2]]
    tot = m.sum((1, 2))
    return np.stack([(m * xx).sum((1, 2)) / tot, (m * yy).sum((1, 2)) / tot], -1)


@pytest.mark.parametrize("pipeline", PIPES)
def test_single_pass_peak_is_the_encoded_label(pipeline):
    kp, c, s = _boxes(200)
    st_ = PipelineSettings(pipeline=pipeline)
    hm, gt = simulate_pipeline_heatmaps(kp, np.full((200, 1), 2), c, s, st_, flip_pairs=())
    centres = pass_centers(kp, c, s, st_)
    # the three-point log-parabola is exact on an (uncut) Gaussian peak
    np.testing.assert_allclose(decode(hm, "gauss3").coords, centres["orig"], atol=1e-4)
    if pipeline == "hrnet":   # rounded to the pixel nearest the exact GT
        assert np.abs(centres["orig"] - gt).max() <= 0.5 + 1e-9
        assert np.all(centres["orig"] == np.round(centres["orig"]))
    else:
        np.testing.assert_allclose(centres["orig"], gt, atol=1e-9)


@pytest.mark.parametrize("pipeline", PIPES)
@pytest.mark.parametrize("flip", ["shift", "noshift"])
def test_flip_test_map_centre_is_half_the_branch_offset(pipeline, flip):
    kp, c, s = _boxes(300, seed=1)
    st_ = PipelineSettings(pipeline=pipeline, flip_test=flip)
    hm, gt = simulate_pipeline_heatmaps(kp, np.full((300, 1), 2), c, s, st_, flip_pairs=())
    u = input_coords(kp, c, s, st_.input_size, st_.test_convention)
    branch = flip_branch_offsets_exact(u, pipeline, st_.input_size, st_.heatmap_size,
                                       flip == "shift")[:, 0]          # (n, 2), y = 0
    expect = encoded_centers(pass_centers(kp, c, s, st_)["label"], pipeline)[:, 0] \
        + 0.5 * branch
    if pipeline == "udp":   # the cut window is not centred on the sub-pixel peak
        np.testing.assert_allclose(_centroid(hm), expect, atol=0.01)
        if flip == "noshift":   # the flipped-back branch is the original map
            single, _ = simulate_pipeline_heatmaps(kp, np.full((300, 1), 2), c, s,
                                                   st_.replace(flip_test="none"), flip_pairs=())
            np.testing.assert_allclose(hm, single, atol=1e-6)
    else:
        np.testing.assert_allclose(_centroid(hm), expect, atol=1e-5)
    if pipeline != "hrnet":  # every branch offset is exact: 1 px with the shift, else 0
        np.testing.assert_allclose(branch[:, 0], 1.0 if flip == "shift" else 0.0, atol=1e-9)


def test_offsets_in_image_px():
    scale = np.array([[0.96, 1.28]])                 # S = 192 x 256 image px, W = 48
    off = np.array([[[flip_test_offset("hrnet", "shift", 192, 48), 0.0]]])
    np.testing.assert_allclose(offset_to_image(off, scale, (48, 64), "hrnet"),
                               [[[0.125 * 192 / 48, 0.0]]])
    np.testing.assert_allclose(offset_to_image(np.array([[[1.0, 1.0]]]), scale, (48, 64), "udp"),
                               [[[192 / 47, 256 / 63]]])


def test_convention_mismatch_and_leak():
    c = np.array([[300.0, 200.0]])
    s = np.array([[1.2, 1.6]])
    at_centre = c[:, None, :]
    # HRNet-trained, cropped and decoded the DarkPose way: +(s-1)/(2s) at the box centre
    np.testing.assert_allclose(convention_offset(at_centre, c, s, "hrnet", "dark",
                                                 (192, 256), (48, 64)), [[[0.375, 0.375]]])
    for p in PIPES:
        np.testing.assert_allclose(convention_offset(at_centre + 17.3, c, s, p, p,
                                                     (192, 256), (48, 64)), 0.0, atol=1e-9)
    u = np.array([[5.0, 100.0], [191.0, 255.0]])
    np.testing.assert_allclose(leak_offset(u, "hrnet", 0.6, (192, 256), (48, 64)),
                               -0.6 * 0.375)     # up-left everywhere
    centre = np.array([[95.5, 127.5]])
    np.testing.assert_allclose(leak_offset(centre, "udp", 1.0, (192, 256), (48, 64)), 0.0,
                               atol=1e-12)


def test_leak_in_rendered_maps():
    kp, c, s = _boxes(100, seed=2)
    vis = np.full((100, 1), 2)
    hm, gt = simulate_pipeline_heatmaps(kp, vis, c, s, PipelineSettings("dark", leak=1.0,
                                                                         convention="hrnet"),
                                        flip_pairs=())
    u = input_coords(kp, c, s, (192, 256), "hrnet")
    lab = u * (np.array([47, 63]) / np.array([191, 255]))
    nat = (u - 1.5) / 4
    np.testing.assert_allclose(decode(hm, "gauss3").coords, nat, atol=1e-4)
    assert not np.allclose(lab, nat)


def test_settings_validation():
    with pytest.raises(InputError, match="pipeline"):
        PipelineSettings(pipeline="msra")
    with pytest.raises(InputError, match="flip_test"):
        PipelineSettings(flip_test="yes")
    with pytest.raises(InputError, match="leak"):
        PipelineSettings(leak=1.5)
    with pytest.raises(InputError, match="convention"):
        PipelineSettings(convention="mmpose")
    st_ = PipelineSettings("udp", "shift", 0.25, "dark")
    assert PipelineSettings.from_dict(st_.to_dict()) == st_
    assert st_.test_convention == "dark" and PipelineSettings("udp").test_convention == "udp"


@pytest.fixture(scope="module", params=[("hrnet", "shift"), ("dark", "shift"),
                                        ("hrnet", "noshift")])
def noise_free_demo(request, tmp_path_factory):
    pipeline, flip = request.param
    st_ = PipelineSettings(pipeline=pipeline, flip_test=flip)
    out = build_demo(tmp_path_factory.mktemp("pl") / "d", seed=5, n_images=8,
                     knobs=NetworkKnobs.noise_free(), pipeline=st_)
    return load_dataset(out), st_


def test_noise_free_demo_gives_the_derived_offsets(noise_free_demo):
    ds, st_ = noise_free_demo
    assert (ds.meta.pipeline, ds.meta.flip_mode) == (st_.pipeline, st_.flip_test)
    assert ds.meta.convention == st_.test_convention
    inst = ds.instances
    c = inst[["center_x", "center_y"]].to_numpy()
    s = inst[["scale_x", "scale_y"]].to_numpy()
    gt = ds.gt_keypoints()
    kp = gt[..., :2]
    u = input_coords(kp, c, s, st_.input_size, st_.test_convention)
    branch = flip_branch_offsets_exact(u, st_.pipeline, st_.input_size, st_.heatmap_size,
                                       st_.flip_test == "shift")
    centres = encoded_centers(pass_centers(kp, c, s, st_)["label"], st_.pipeline) \
        + 0.5 * branch
    hm = np.asarray(ds.heatmaps[:], dtype=np.float64)
    gt_hm = pass_centers(kp, c, s, st_)["gt_hm"]
    inside = (gt[..., 2] > 0) & (gt_hm[..., 0] > 8) & (gt_hm[..., 0] < 40) \
        & (gt_hm[..., 1] > 8) & (gt_hm[..., 1] < 56)
    yy, xx = np.mgrid[0:64, 0:48]
    tot = hm.sum((2, 3))
    cen = np.stack([(hm * xx).sum((2, 3)) / tot, (hm * yy).sum((2, 3)) / tot], -1)
    assert inside.sum() > 50
    np.testing.assert_allclose(cen[inside], centres[inside], atol=2e-3)   # float16 cache
    # the mean offset from the GT is the derived one (x), 0 in y up to rounding
    mean_branch = branch[inside][:, 0].mean()
    if st_.pipeline == "dark":
        assert mean_branch == pytest.approx(1.0)
        np.testing.assert_allclose((cen - gt_hm)[inside].mean(0), [0.5, 0.0], atol=2e-3)
