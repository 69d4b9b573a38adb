"""The daec-viz command: sub-commands on a small dataset, JSON output, clear errors."""

from __future__ import annotations

import json

import pytest
from synthetic import make_dataset

from daec_viz.cli import build_parser, main
from daec_viz.evaluation.scoring import evaluate
from daec_viz.io.datasets import load_dataset


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("cli") / "ds", n_images=30, bias=(0.5, 0.5),
                        jitter=0.5, size=(20, 50))


def test_every_subcommand_is_registered():
    names = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"info", "evaluate", "sweep", "errors", "coco-eval", "pckh", "demo", "infer",
            "bench"} <= names


def test_evaluate_json_matches_library(folder, capsys):
    assert main(["evaluate", str(folder), "--method", "daec", "--delta", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = evaluate(load_dataset(folder), "daec", delta=3.0, pattern="BR")
    assert out["stats"] == pytest.approx(expected, abs=1e-12)
    ds = load_dataset(folder)
    # the resolved configuration: σ from the cache, every option DAEC reads
    assert out["config"] == {"method": "daec", "sigma": float(ds.meta.sigma), "delta": 3.0,
                             "pattern": "BR", "blur_kernel": None}


@pytest.mark.parametrize("argv,config", [
    (["--method", "dark_udp"], {"method": "dark_udp", "blur_kernel": 11}),
    (["--method", "dark_udp", "--blur-kernel", "1"], {"method": "dark_udp", "blur_kernel": 1}),
    (["--method", "gauss3"], {"method": "gauss3"}),
    (["--method", "integral"], {"method": "integral", "beta": 10.0}),
    (["--method", "integral_debiased", "--beta", "4"],
     {"method": "integral_debiased", "beta": 4.0}),
])
def test_evaluate_and_predict_take_the_field_decoders(folder, tmp_path, capsys, argv, config):
    assert main(["evaluate", str(folder), *argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"] == config  # resolved: the decoder's defaults written out
    opts = {k: v for k, v in config.items() if k != "method"}
    expected = evaluate(load_dataset(folder), config["method"], **opts)
    assert out["stats"] == pytest.approx(expected, abs=1e-12)
    res = tmp_path / "res.json"
    assert main(["predict", str(folder), *argv, "--out", str(res), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == config


def test_bench_times_every_decoder_unless_paper_only(capsys):
    assert main(["bench", "--n", "3", "--repeats", "1", "--ref-n", "0", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {r["method"] for r in rows} == {"numpy argmax", "standard", "shifting", "dark",
                                          "daec", "dark_udp", "gauss3", "integral",
                                          "integral_debiased"}
    assert main(["bench", "--n", "3", "--repeats", "1", "--ref-n", "0", "--json",
                 "--paper-only"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {r["method"] for r in rows} == {"numpy argmax", "standard", "shifting", "dark",
                                          "daec"}


def test_evaluate_json_records_the_default_delta(folder, capsys):
    assert main(["evaluate", str(folder), "--method", "daec", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sigma = float(load_dataset(folder).meta.sigma)
    assert out["config"]["delta"] == float(int(sigma + 2))  # the paper's default Δ
    assert out["config"]["sigma"] == sigma
    assert main(["evaluate", str(folder), "--method", "dark", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == {"method": "dark",
                                                              "blur_kernel": 11}


def test_evaluate_one_split(folder, capsys):
    assert main(["evaluate", str(folder), "--method", "dark", "--split", "test", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ds = load_dataset(folder).subset("test")
    assert out["instances"] == len(ds)
    assert out["stats"]["AP"] == pytest.approx(evaluate(ds, "dark")["AP"], abs=1e-12)


def test_sweep_writes_table_and_learns_delta(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    out_csv = tmp_path / "sweep.csv"
    assert main(["sweep", str(folder), "--deltas=0:6:1", "--patterns", "BR", "UL",
                 "--smooth", "off", "--out", str(out_csv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    import pandas as pd

    df = pd.read_csv(out_csv)
    # 7 baselines (every other decoder; raw maps only) + 2 patterns x 7 Δ, on 2 splits
    assert len(df) == report["rows"] == (7 + 2 * 7) * 2
    br = [c for c in report["learned"] if c["pattern"] == "BR"][0]
    assert br["delta"] > 0 and br["gains"]["dark"] > 0
    assert set(br["gains"]) == {"standard", "shifting", "dark", "dark_udp", "gauss3",
                                "integral", "integral_debiased"}
    # the configs are recorded resolved (β of the integral decoders included)
    assert {"method": "integral", "beta": 10.0} in report["configs"]
    assert main(["sweep", str(folder), "--deltas=0:1:1", "--patterns", "BR", "--smooth",
                 "off", "--baselines", "gauss3", "integral_debiased", "--beta", "5",
                 "--bootstrap", "0", "--out", str(out_csv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["method"] for c in report["configs"]] == ["gauss3", "integral_debiased",
                                                        "daec", "daec"]
    assert report["configs"][1] == {"method": "integral_debiased", "beta": 5.0}


@pytest.mark.parametrize("argv,needle", [
    (["evaluate", "/nonexistent/folder", "--method", "dark"], "/nonexistent/folder"),
    (["sweep", "{folder}", "--out", "x.txt"], "--out"),
    (["sweep", "{folder}", "--deltas=a:b", "--out", "x.csv"], "deltas"),
    (["evaluate", "{folder}", "--method", "daec", "--split", "val"], "split"),
])
def test_bad_input_is_one_clear_line(argv, needle, folder, capsys):
    argv = [a.format(folder=folder) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_errors_json_records_the_resolved_configs(folder, capsys):
    assert main(["errors", str(folder), "--methods", "dark", "daec", "--delta", "2.5",
                 "--bootstrap", "10", "--no-ap", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sigma = float(load_dataset(folder).meta.sigma)
    assert out["info"]["configs"] == {
        "dark": {"method": "dark", "blur_kernel": 11},
        "daec": {"method": "daec", "sigma": sigma, "delta": 2.5, "pattern": "BR",
                 "blur_kernel": None}}
    # the field's decoders, the integral one at another β (read by it alone)
    assert main(["errors", str(folder), "--methods", "dark_udp", "gauss3", "integral",
                 "--beta", "7", "--bootstrap", "10", "--no-ap", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["info"]["configs"] == {"dark_udp": {"method": "dark_udp", "blur_kernel": 11},
                                      "gauss3": {"method": "gauss3"},
                                      "integral": {"method": "integral", "beta": 7.0}}
    assert main(["errors", str(folder), "--bootstrap", "10", "--no-ap"]) == 0
    text = capsys.readouterr().out  # every decoder by default, names in full
    assert all(f"\n{m} " in text for m in ("integral_debiased", "dark_udp", "daec"))

