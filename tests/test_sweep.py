"""Δ sweeps and Δ_opt learning against injected biases."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from synthetic import make_dataset

from daec_viz.decoding import ALL_METHODS
from daec_viz.evaluation import sweep as sweep_mod
from daec_viz.evaluation.scoring import evaluate
from daec_viz.evaluation.sweep import (
    choose_delta,
    compare_patterns,
    default_configs,
    delta_grid,
    learn_delta,
    parse_deltas,
    run_sweep,
    sweep_config,
)
from daec_viz.exceptions import InputError
from daec_viz.io.datasets import load_dataset

DELTAS = np.arange(-2.0, 8.5, 1.0)


def test_delta_grid():
    assert delta_grid(2.0).tolist() == [x / 2 for x in range(-4, 17)]  # -2 .. 8 by 0.5
    assert parse_deltas("0:3:1").tolist() == [0.0, 1.0, 2.0, 3.0]
    assert parse_deltas("1:2").tolist() == [1.0, 1.5, 2.0]
    for bad in ("1", "a:b", "3:1:1", "0:1:0"):
        with pytest.raises(InputError):
            parse_deltas(bad)


def test_default_configs_cover_the_paper_grid():
    cfgs = default_configs(2.0)
    daec = [c for c in cfgs if c.method == "daec"]
    assert len(daec) == 21 * 4 * 2
    # every decoder is a reference: with and without smoothing where it has a blur
    # option (DARK and DARK-UDP: as published and on the raw map), else once
    assert {c.method for c in cfgs} == set(ALL_METHODS)
    count = pd.Series([c.method for c in cfgs if c.method != "daec"]).value_counts()
    assert count.to_dict() == {"standard": 2, "shifting": 2, "dark": 2, "dark_udp": 2,
                               "gauss3": 1, "integral": 1, "integral_debiased": 1}
    assert {c.blur_kernel for c in cfgs if c.method == "dark_udp"} == {1, 11}
    assert len(set(cfgs)) == len(cfgs)
    # β reaches the integral decoders only; the paper's baselines alone on request
    b = default_configs(2.0, [0.0], ("BR",), beta=4.0)
    assert {c.beta for c in b if c.beta is not None} == {4.0}
    assert [c.method for c in b if c.beta is not None] == ["integral", "integral_debiased"]
    paper = default_configs(2.0, [0.0], ("BR",), baselines=("standard", "shifting", "dark"))
    assert {c.method for c in paper} == {"standard", "shifting", "dark", "daec"}
    with pytest.raises(InputError, match="baseline"):
        default_configs(2.0, baselines=("daec",))


def _sweep(tmp_path, bias, seed=0):
    ds = load_dataset(make_dataset(tmp_path / f"b{bias}", n_images=160, bias=bias, jitter=0.6,
                                   size=(20, 50), seed=seed))
    cfgs = default_configs(2.0, DELTAS, smooth=(False,))
    return ds, run_sweep(ds, cfgs, cache_dir=tmp_path / "cache")


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweeps")
    return {b: _sweep(tmp, b) for b in [(0.0, 0.0), (0.4, 0.2), (0.8, 0.4)]}


def test_delta_opt_tracks_the_injected_bias(sweeps):
    d = {b: choose_delta(df, "BR").delta for b, (ds, df) in sweeps.items()}
    # no bias: the symmetric window (Δ = 0) is optimal; Δ < 0 only adds far tails, so the
    # curve is flat there and the arg-max may sit anywhere on that plateau
    assert d[(0.0, 0.0)] <= 0.0
    curve = choose_delta(sweeps[(0.0, 0.0)][1], "BR").curve
    train = curve[curve.split == "train"].set_index("delta")["AP"]
    assert train.max() - train[0.0] < 0.002 and train[0.0] - train[3.0] > 0.005
    assert d[(0.0, 0.0)] < d[(0.4, 0.2)] < d[(0.8, 0.4)]


def test_pattern_order_br_ur_bl_ul(sweeps):
    ds, df = sweeps[(0.8, 0.4)]  # bias toward bottom-right, stronger in x
    delta = choose_delta(df, "BR").delta
    assert delta == 6.0
    for split in ("train", "test"):  # compared at one Δ, as in the paper's Table 6
        ap = compare_patterns(df, delta, split)
        assert ap["BR"] > ap["UR"] > ap["BL"] > ap["UL"]
    choice = choose_delta(df, "BR")
    assert choice.gains["dark"] > 0.02 and choice.gains["standard"] > choice.gains["dark"]


def test_sweep_rows_equal_direct_evaluation(sweeps):
    ds, df = sweeps[(0.4, 0.2)]
    test = ds.subset("test")
    row = df[(df.method == "daec") & (df.pattern == "UR") & (df.delta == 3.0)
             & (df.split == "test")]
    assert row["AP"].iloc[0] == pytest.approx(evaluate(test, "daec", delta=3, pattern="UR")["AP"],
                                              abs=1e-12)
    row = df[(df.method == "dark") & (df.split == "train")]
    assert row["AP"].iloc[0] == pytest.approx(
        evaluate(ds.subset("train"), "dark", blur_kernel=1)["AP"], abs=1e-12)
    # the field's decoders: the same numbers as evaluating each alone
    for method, opts in (("dark_udp", {"blur_kernel": 1}), ("gauss3", {}),
                         ("integral", {}), ("integral_debiased", {})):
        row = df[(df.method == method) & (df.split == "test")]
        assert len(row) == 1 and not row["smooth"].iloc[0]
        assert row["AP"].iloc[0] == pytest.approx(evaluate(test, method, **opts)["AP"],
                                                  abs=1e-12), method


def test_smoothed_configs_equal_decoding_with_blur(tmp_path):
    ds = load_dataset(make_dataset(tmp_path / "s", n_images=20, jitter=0.5, noise=0.02,
                                   size=(20, 50)))
    cfgs = [sweep_config("daec", True, "BL", 2.5, blur_kernel=7),
            sweep_config("standard", True, blur_kernel=7),
            sweep_config("dark", True, blur_kernel=7)]
    df = run_sweep(ds, cfgs, splits=["all"], use_cache=False)
    assert df.AP.iloc[0] == pytest.approx(
        evaluate(ds, "daec", delta=2.5, pattern="BL", blur_kernel=7)["AP"], abs=1e-12)
    assert df.AP.iloc[1] == pytest.approx(evaluate(ds, "standard", blur_kernel=7)["AP"], abs=1e-12)
    assert df.AP.iloc[2] == pytest.approx(evaluate(ds, "dark", blur_kernel=7)["AP"], abs=1e-12)


def test_results_are_cached_outside_the_dataset(tmp_path, monkeypatch):
    folder = make_dataset(tmp_path / "c", n_images=10, jitter=0.5, size=(20, 50))
    before = sorted(p.name for p in folder.iterdir())
    ds = load_dataset(folder)
    cfgs = [sweep_config("daec", False, "BR", 4.0), sweep_config("dark", True)]
    first = run_sweep(ds, cfgs, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("sweep-*.csv"))) == 1
    monkeypatch.setattr(sweep_mod, "decode_slices", lambda *a, **k: pytest.fail("recomputed"))
    second = run_sweep(ds, cfgs, cache_dir=tmp_path / "cache")
    pd.testing.assert_frame_equal(first, second, check_dtype=False)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_learn_delta_without_splits_is_in_sample(tmp_path):
    ds = load_dataset(make_dataset(tmp_path / "n", n_images=20, bias=(0.5, 0.5), jitter=0.5,
                                   size=(20, 50), splits=False))
    assert ds.splits == ["all"]
    choice = learn_delta(ds, configs=default_configs(2.0, [0, 2, 4], ("BR",), (False,)),
                         use_cache=False)
    assert choice.in_sample and choice.train_split == "all"
    assert choice.delta > 0


def test_unknown_split_is_a_clear_error(sweeps):
    ds, df = sweeps[(0.0, 0.0)]
    with pytest.raises(InputError, match="split"):
        choose_delta(df, "BR", train="val")


def test_keypoints_spilled_to_disk_give_the_same_table(tmp_path, monkeypatch):
    ds = load_dataset(make_dataset(tmp_path / "g", n_images=20, jitter=0.5, noise=0.02,
                                   size=(20, 50)))
    cfgs = default_configs(2.0, [0.0, 2.5, 4.0], ("BR", "UL"))
    one = run_sweep(ds, cfgs, use_cache=False)
    reads = []
    real = ds.heatmaps.read_rows
    monkeypatch.setattr(ds.heatmaps, "read_rows", lambda r: reads.append(len(r)) or real(r))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    opened = []
    real_store = sweep_mod.KeypointStore

    def store(*a, **k):
        opened.append(real_store(*a, **k))
        return opened[-1]

    monkeypatch.setattr(sweep_mod, "KeypointStore", store)
    many = run_sweep(ds, cfgs, use_cache=False, memory_mb=1e-6, batch=7, scratch_dir=scratch)
    pd.testing.assert_frame_equal(one, many)
    assert len(one) == len(cfgs) * len(ds.splits)
    # every configuration from ONE read of the cache, keypoints through the scratch file,
    # which is gone afterwards
    assert sum(reads) == len(ds) and max(reads) == 7
    assert opened[0].on_disk and list(scratch.iterdir()) == []


def test_keypoint_store_round_trips_in_memory_and_on_disk(tmp_path):
    from daec_viz.evaluation.predict import plan_decoding, resolve_config

    ds = load_dataset(make_dataset(tmp_path / "r", n_images=4, size=(20, 50)))
    cfgs = [resolve_config(ds, c) for c in default_configs(2.0, [1.0, 2.0], ("BR",),
                                                              baselines=("standard",))]
    plan = plan_decoding(cfgs)
    rng = np.random.default_rng(0)
    n, k = 11, 3
    coords = rng.normal(size=(len(cfgs), n, k, 2))
    maxv = rng.normal(size=(len(cfgs), n, k))
    for own in plan.owners:  # configs sharing maxima get equal rows, as decode_slice's
        for j, o in enumerate(plan.maxval_owner):
            if o == own:
                maxv[j] = maxv[own]
    for mb in (1e3, 1e-6):
        with sweep_mod.KeypointStore(plan, n, k, mb, tmp_path) as st:
            for start in range(0, n, 4):
                st.write(start, coords[:, start:start + 4],
                         maxv[plan.owners, start:start + 4])
            assert st.on_disk == (mb < 1)
            for j in range(len(cfgs)):
                np.testing.assert_array_equal(st.coords(j), coords[j])
                np.testing.assert_array_equal(st.maxvals(j), maxv[j])
    assert list(tmp_path.glob("daec-viz-sweep-*")) == []


def test_cache_key_changes_with_every_input(tmp_path):
    folder = make_dataset(tmp_path / "k", n_images=10, jitter=0.5, size=(20, 50))
    ds = load_dataset(folder)
    cfgs = [sweep_config("daec", False, "BR", 4.0)]
    args = dict(configs=cfgs, splits=["train", "test"], engine="hotcoco")
    base = sweep_mod._cache_key(ds, **args)
    assert sweep_mod._cache_key(ds, **args) == base
    for change in (dict(configs=[sweep_config("daec", False, "BR", 4.5)]),
                   dict(configs=[sweep_config("daec", True, "BR", 4.0)]),
                   dict(configs=[sweep_config("daec", False, "BR", 4.0, sigma=2.5)]),
                   dict(configs=[sweep_config("daec", True, "BR", 4.0, blur_kernel=7)]),
                   dict(splits=["test"]), dict(engine="pycocotools")):
        assert sweep_mod._cache_key(ds, **{**args, **change}) != base, change
    assert sweep_mod._cache_key(ds.subset("test"), **args) != base  # other rows
    cache_file = ds.cache_path
    st = cache_file.stat()
    os.utime(cache_file, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # rewritten cache
    assert sweep_mod._cache_key(load_dataset(folder), **args) != base


def test_cache_never_inside_the_dataset_and_survives_corruption(tmp_path):
    folder = make_dataset(tmp_path / "d", n_images=10, jitter=0.5, size=(20, 50))
    before = sorted(p.name for p in folder.rglob("*"))
    ds = load_dataset(folder)
    cfgs = [sweep_config("daec", False, "BR", 4.0)]
    run_sweep(ds, cfgs, cache_dir=folder / "cache")
    assert sorted(p.name for p in folder.rglob("*")) == before
    cache = tmp_path / "cache"
    first = run_sweep(ds, cfgs, cache_dir=cache)
    (f,) = cache.glob("sweep-*.csv")
    f.write_text("garbage\n")
    pd.testing.assert_frame_equal(run_sweep(ds, cfgs, cache_dir=cache), first)


def test_learn_delta_requires_its_splits(sweeps):
    ds, df = sweeps[(0.0, 0.0)]
    with pytest.raises(InputError, match="val"):
        learn_delta(ds, test="val", sweep=df)
    assert learn_delta(ds, sweep=df).test_split == "test"


def test_dark_baseline_is_dark_with_its_blur(tmp_path):
    ds = load_dataset(make_dataset(tmp_path / "b", n_images=20, bias=(0.5, 0.5), jitter=0.5,
                                   noise=0.05, size=(20, 50)))
    df = run_sweep(ds, default_configs(2.0, [0.0, 3.0], ("BR",)), use_cache=False)
    dark = df[(df.method == "dark") & (df.split == "test")].set_index("smooth")["AP"]
    std = df[(df.method == "standard") & (df.split == "test")].set_index("smooth")["AP"]
    assert dark[True] != dark[False]  # the two DARK variants differ on these maps
    udp = df[(df.method == "dark_udp") & (df.split == "test")].set_index("smooth")["AP"]
    one = {m: df[(df.method == m) & (df.split == "test")]["AP"]
           for m in ("gauss3", "integral", "integral_debiased")}
    for smooth in (False, True):
        c = choose_delta(df, "BR", smooth)
        assert c.baselines["dark"] == dark[True]
        assert c.baselines["dark_udp"] == udp[True]  # DARK-UDP as published: its own blur
        assert c.baselines["standard"] == std[smooth]
        assert c.gains["dark"] == pytest.approx(c.test_value - dark[True])
        for m, rows in one.items():  # no blur option: their one row, either way
            assert len(rows) == 1 and c.baselines[m] == rows.iloc[0]
        assert set(c.gains) == set(ALL_METHODS) - {"daec"}
