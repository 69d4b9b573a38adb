"""Δ_opt under the paired image bootstrap (daec_viz.evaluation.delta_uncertainty)."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import make_dataset

from daec_viz.evaluation.delta_uncertainty import delta_uncertainty
from daec_viz.evaluation.sweep import choose_delta, default_configs, run_sweep
from daec_viz.io.datasets import load_dataset

DELTAS = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(make_dataset(tmp_path_factory.mktemp("du") / "ds", n_images=60,
                                     jitter=0.6, noise=0.02, bias=(1.0, 1.0), size=(20, 50),
                                     seed=4))


def test_curve_and_opt_agree_with_the_sweep(ds):
    u = delta_uncertainty(ds, "BR", False, DELTAS, split="train", n_boot=300)
    df = run_sweep(ds, default_configs(2.0, DELTAS, ("BR",), (False,)), use_cache=False)
    tr = df[(df.method == "daec") & (df.split == "train")].sort_values("delta")
    np.testing.assert_allclose(u.ap, tr["AP"].to_numpy(), atol=1e-12)  # same AP curve
    assert u.delta_opt == choose_delta(df, "BR", False).delta
    assert u.wins.sum() == pytest.approx(1.0)
    assert np.all((u.band[:, 0] <= u.ap + 1e-12) & (u.ap <= u.band[:, 1] + 1e-12))
    # a bias of 1 heatmap px toward BR: the cut wins over no cut in every resample
    assert u.wins[DELTAS.index(0.0)] == 0.0
    assert f"Δ_opt = {u.delta_opt:g}" in u.line()


def test_seeded(ds):
    a = delta_uncertainty(ds, "UL", True, DELTAS[:3], split="test", n_boot=100, seed=7)
    b = delta_uncertainty(ds, "UL", True, DELTAS[:3], split="test", n_boot=100, seed=7)
    np.testing.assert_array_equal(a.wins, b.wins)
    assert a.to_dict()["pattern"] == "UL" and a.to_dict()["smooth"] is True
