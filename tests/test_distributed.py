"""Sweeps decoded on a Dask LocalCluster (2 worker processes on 127.0.0.1) equal the
single-process sweep, number for number."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synthetic import make_dataset

from daec_viz.evaluation import distributed as dist
from daec_viz.evaluation.sweep import default_configs, run_sweep
from daec_viz.exceptions import InputError
from daec_viz.io.datasets import load_dataset

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow  # starting two worker processes takes a few seconds

CONFIGS = dict(deltas=[0.0, 2.5, 4.0], patterns=("BR", "UL"))


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       worker_dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    return [make_dataset(tmp / name, n_images=12, jitter=0.5, noise=0.02, size=(20, 50),
                         bias=bias, seed=seed)
            for name, bias, seed in (("a", (0.5, 0.3), 0), ("b", (0.0, 0.0), 1))]


def test_cluster_sweep_equals_the_single_process_sweep(client, folders, tmp_path):
    ds = load_dataset(folders[0])
    cfgs = default_configs(2.0, CONFIGS["deltas"], CONFIGS["patterns"])
    here = run_sweep(ds, cfgs, use_cache=False)
    # tiny tasks (one batch of 5 instances each), so results arrive out of order
    decoder = dist.cluster_decoder(client, batch=5, task_bytes=1)
    there = run_sweep(ds, cfgs, use_cache=False, decoder=decoder)
    pd.testing.assert_frame_equal(here, there)
    # through the scratch file as well, and on a subset view (the workers map its rows)
    test = ds.subset("test")
    pd.testing.assert_frame_equal(
        run_sweep(test, cfgs, use_cache=False),
        run_sweep(test, cfgs, use_cache=False, decoder=decoder, memory_mb=1e-6,
                  scratch_dir=tmp_path))


def test_decode_rows_is_predict_many(folders):
    from daec_viz.evaluation.predict import plan_decoding, predict_many, resolve_config

    ds = load_dataset(folders[1])
    cfgs = [resolve_config(ds, c) for c in default_configs(2.0, [1.0], ("UR",))]
    rows = np.array([5, 0, 3, 9])
    coords, maxv = dist.decode_rows(str(ds.path), str(ds.cache_path), rows,
                                    [c.to_dict() for c in cfgs], batch=3)
    preds = predict_many(ds, cfgs)
    plan = plan_decoding(cfgs)
    for j, p in enumerate(preds):
        np.testing.assert_array_equal(coords[j], p.coords_hm[rows])
    for i, j in enumerate(plan.owners):
        np.testing.assert_array_equal(maxv[i], preds[j].maxvals[rows])


def test_cli_sweeps_several_datasets_on_the_cluster(client, folders, tmp_path, capsys,
                                                    monkeypatch):
    from daec_viz.cli import main

    args = ["sweep", *map(str, folders), "--deltas", "0:4:2", "--patterns", "BR",
            "--smooth", "off", "--bootstrap", "0", "--no-cache", "--json",
            "--out", str(tmp_path / "t.csv")]
    monkeypatch.setenv(dist.SCHEDULER_ENV, client.scheduler.address)
    assert main(args) == 0
    reports = json.loads(capsys.readouterr().out)
    monkeypatch.delenv(dist.SCHEDULER_ENV)
    assert main(args[:-2] + ["--out", str(tmp_path / "here.csv")]) == 0
    local = json.loads(capsys.readouterr().out)
    assert [r["dataset"] for r in reports] == [str(f) for f in folders]
    for r, lo, name in zip(reports, local, ("a", "b"), strict=True):
        assert r["out"] == str(tmp_path / f"t-{name}.csv")
        pd.testing.assert_frame_equal(pd.read_csv(r["out"]), pd.read_csv(lo["out"]))
        assert r["learned"] == lo["learned"]


def test_unreachable_scheduler_and_unseen_paths_are_clear_errors(client, folders, tmp_path,
                                                                 monkeypatch):
    with pytest.raises(InputError, match="scheduler"):
        dist.connect("tcp://127.0.0.1:9", timeout=1)
    monkeypatch.delenv(dist.SCHEDULER_ENV, raising=False)
    assert dist.scheduler_address(None) is None
    monkeypatch.setenv(dist.SCHEDULER_ENV, " tcp://h:1 ")
    assert dist.scheduler_address(None) == "tcp://h:1"
    assert dist.scheduler_address("tcp://x:2") == "tcp://x:2"
    # a worker that cannot see the cache: one message naming the dataset, no traceback
    ds = load_dataset(folders[1])
    cfgs = default_configs(2.0, [0.0], ("BR",), (False,))
    with pytest.raises(InputError, match="worker"):
        dist.cluster_decoder(client)(
            _Elsewhere(ds, tmp_path / "missing"), _plan(ds, cfgs), None, None)


class _Elsewhere:
    """A dataset whose folder the workers do not see."""

    def __init__(self, ds, folder):
        self.path, self.cache_path = folder, folder / "heatmaps.h5"
        self.instances, self.num_keypoints = ds.instances, ds.num_keypoints

    def __len__(self):
        return len(self.instances)


def _plan(ds, cfgs):
    from daec_viz.evaluation.predict import plan_decoding, resolve_config
    return plan_decoding([resolve_config(ds, c) for c in cfgs])
