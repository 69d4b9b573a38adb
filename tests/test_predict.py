"""predict / predict_many: the one path from heatmaps to image-px keypoints."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import make_dataset

from daec_viz.decoding import DecoderConfig, decode, gaussian_blur
from daec_viz.evaluation.coco_eval import instance_scores
from daec_viz.evaluation.predict import RESCORE_THRESHOLD, predict, predict_many
from daec_viz.evaluation.sweep import default_configs
from daec_viz.exceptions import InputError
from daec_viz.geometry import apply_affine
from daec_viz.io.datasets import load_dataset


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(make_dataset(tmp_path_factory.mktemp("pred") / "ds", n_images=25,
                                     jitter=0.6, noise=0.03, bias=(0.4, 0.2), size=(20, 50),
                                     seed=5))


CONFIGS = [DecoderConfig("standard"), DecoderConfig("shifting", variant="second_max"),
           DecoderConfig("dark"), DecoderConfig("dark", blur_kernel=1),
           DecoderConfig("daec"), DecoderConfig("daec", delta=(2.5, 1), pattern="UL"),
           DecoderConfig("daec", delta=3, blur_kernel=7), DecoderConfig("standard",
                                                                        blur_kernel=11),
           # the field's: DARK-UDP blurs inside its own step (from the raw argmax), so it
           # must decode the raw maps, never maps pre-blurred for the "+smooth" configs
           DecoderConfig("dark_udp"), DecoderConfig("dark_udp", blur_kernel=1),
           DecoderConfig("gauss3"), DecoderConfig("integral", beta=5),
           DecoderConfig("integral_debiased")]


def _reference(ds, cfg: DecoderConfig):
    """The loop every module used to write: decode all maps at once, map with the
    affines, rescore."""
    hm = ds.heatmaps.read_rows(slice(0, len(ds)))
    r = decode(hm, cfg.resolved(sigma=float(ds.meta.sigma)))
    img = apply_affine(r.coords, ds.affines())
    scores = instance_scores(ds.instances["score"].to_numpy(), r.scores, RESCORE_THRESHOLD)
    return r, img, scores


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.label)
def test_predict_equals_the_reference_loop(ds, cfg):
    r, img, scores = _reference(ds, cfg)
    p = predict(ds, cfg, batch=7)  # slices that do not divide the data
    np.testing.assert_allclose(p.coords_hm, r.coords, atol=1e-9)
    np.testing.assert_allclose(p.coords_img, img, atol=1e-9)
    np.testing.assert_array_equal(p.maxvals, r.scores)
    np.testing.assert_array_equal(p.valid, r.valid)
    np.testing.assert_allclose(p.scores, scores)
    assert p.config == cfg.resolved(sigma=float(ds.meta.sigma))
    np.testing.assert_array_equal(p.image_ids, ds.instances["image_id"].to_numpy())


def test_config_and_keywords_are_the_same_call(ds):
    a = predict(ds, DecoderConfig("daec", delta=3, pattern="UR"))
    b = predict(ds, "daec", delta=3, pattern="UR")
    np.testing.assert_array_equal(a.coords_img, b.coords_img)
    assert a.config == b.config and a.config.sigma == ds.meta.sigma


def test_predict_many_equals_predict_per_config(ds):
    cfgs = CONFIGS + default_configs(float(ds.meta.sigma), [-1.0, 0.5, 4.0], ("BR", "BL"))
    many = predict_many(ds, cfgs, batch=11)
    for cfg, p in zip(cfgs, many, strict=True):
        one = predict(ds, cfg)
        # DAEC in the many-config pass uses the prefix-sum grid: equal to ~1e-9 px
        np.testing.assert_allclose(p.coords_hm, one.coords_hm, atol=1e-8, err_msg=cfg.label)
        np.testing.assert_array_equal(p.maxvals, one.maxvals)
        assert p.config == one.config


def test_in_memory_and_preblurred_maps_give_the_same_keypoints(ds):
    maps = ds.heatmaps.read_rows(slice(0, len(ds))).astype(np.float32)
    blurred = {11: gaussian_blur(maps, 11)}
    for cfg in CONFIGS:
        streamed = predict(ds, cfg)
        mem = predict(ds, cfg, maps=maps, blurred=blurred)
        np.testing.assert_allclose(mem.coords_hm, streamed.coords_hm, atol=1e-9,
                                   err_msg=cfg.label)


def test_subset_views_predict_their_own_rows(ds):
    test = ds.subset("test")
    full = predict(ds, "dark")
    rows = np.flatnonzero(ds.instances["split"].to_numpy() == "test")
    np.testing.assert_allclose(predict(test, "dark").coords_img, full.coords_img[rows])


def test_wrong_in_memory_maps_are_refused(ds):
    with pytest.raises(InputError, match="shape"):
        predict(ds, "standard", maps=np.zeros((3, 17, 8, 8), np.float32))
    with pytest.raises(InputError, match="configuration"):
        predict_many(ds, [])
