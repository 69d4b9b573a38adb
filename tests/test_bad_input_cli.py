"""Bad input, command-line arguments and the environment: absurd grids and values are
refused before any work with a message giving the limit; negative values work without
``=``; an unwritable numba cache folder never stops a command."""

from __future__ import annotations

import json
import shutil

import pytest
from bad_input_support import ROOT, read_only_mount_prefix, run_cli
from synthetic import make_dataset

from daec_viz.cli.common import join_negative_values
from daec_viz.evaluation.sweep import MAX_GRID_DELTAS, parse_deltas


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("cli") / "ds", n_images=4, size=(20, 50))


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))


SWEEP = ["--patterns", "BR", "--smooth", "off", "--bootstrap", "0", "--json"]


@pytest.mark.parametrize("args", [["--deltas", "-2:4:0.5"], ["--deltas=-2:4:0.5"],
                                  ["--deltas", "-2:-1"], ["--deltas", "-1e0:1:1"]],
                         ids=["no-equals", "equals", "both-negative", "exponent"])
def test_negative_delta_ranges_parse(ds, tmp_path, args):
    res = run_cli(["sweep", ds, *args, *SWEEP, "--out", tmp_path / "s.csv"], code=0,
                  inputs=(ds,))
    deltas = {c["delta"][0] if isinstance(c["delta"], list) else c["delta"]
              for c in json.loads(res.out)["configs"] if c["method"] == "daec"}
    lo, hi = args[-1].split("=")[-1].split(":")[:2]
    assert min(deltas) == float(lo) and max(deltas) == float(hi)


def test_negative_delta_value_parses(ds):
    res = run_cli(["evaluate", ds, "--method", "daec", "--delta", "-1e0", "--json"], code=0)
    assert json.loads(res.out)["config"]["delta"] == -1.0


def test_join_negative_values_leaves_other_tokens():
    assert join_negative_values(["--bias", "-0.5", "-0.2", "--", "--x", "-1e3"]) == \
        ["--bias", "-0.5", "-0.2", "--", "--x", "-1e3"]
    assert join_negative_values(["--x", "-h"]) == ["--x", "-h"]


GRID_CASES = [
    ("0:1e9:1e-3", f"at most {MAX_GRID_DELTAS}"),
    ("0:1000000:0.5", f"at most {MAX_GRID_DELTAS}"),
    ("0:1e300:1e299", "|Δ| <="),
    ("-1e5:0:1e4", "|Δ| <="),
    ("0:inf:1", "finite"),
    ("nan:1:0.5", "finite"),
    ("0:1:nan", "finite"),
    ("1:0:0.5", "stop >= start"),
    ("0:1:0", "step > 0"),
    ("0:1:-0.5", "step > 0"),
    ("a:b", "numbers"),
    ("1:2:3:4", "A:B:STEP"),
    ("1", "A:B:STEP"),
    ("", "A:B:STEP"),
]


@pytest.mark.parametrize("grid, expected", GRID_CASES, ids=[g[0] or "empty" for g in GRID_CASES])
def test_absurd_grids_refused_before_work(ds, tmp_path, grid, expected):
    run_cli(["sweep", ds, "--deltas", grid, *SWEEP, "--out", tmp_path / "s.csv"],
            inputs=(ds,), mentions=("field `deltas`", expected))
    assert not (tmp_path / "s.csv").exists()


def test_grid_limit_is_checked_before_allocating(monkeypatch):
    import numpy as np

    def no_alloc(*a, **k):
        raise AssertionError("allocated")
    monkeypatch.setattr(np, "arange", no_alloc)
    with pytest.raises(Exception, match="at most"):
        parse_deltas("0:1e9:1e-3")


VALUE_CASES = [
    (["evaluate", "--method", "daec", "--delta", "1e300"], "delta", "10000"),
    (["evaluate", "--method", "daec", "--delta", "-1e300"], "delta", "10000"),
    (["evaluate", "--method", "daec", "--delta", "nan"], "delta", "finite"),
    (["evaluate", "--method", "daec", "--delta", "inf"], "delta", "finite"),
    (["evaluate", "--method", "daec", "--delta", "-inf"], "delta", "finite"),
    (["evaluate", "--method", "daec", "--sigma", "0"], "sigma", "positive"),
    (["evaluate", "--method", "daec", "--sigma", "-2"], "sigma", "positive"),
    (["evaluate", "--method", "daec", "--sigma", "nan"], "sigma", "finite"),
    (["evaluate", "--method", "daec", "--sigma", "1e300"], "sigma", "10000"),
    (["evaluate", "--method", "dark", "--blur-kernel", "0"], "blur_kernel", "odd"),
    (["evaluate", "--method", "dark", "--blur-kernel", "4"], "blur_kernel", "odd"),
    (["evaluate", "--method", "dark", "--blur-kernel", "-3"], "blur_kernel", "odd"),
    (["evaluate", "--method", "dark", "--blur-kernel", "100001"], "blur_kernel", "999"),
    (["evaluate", "--method", "standard", "--split", "nope"], "split", "unknown split"),
    (["errors", "--batch", "0"], "errors", "--batch"),
    (["errors", "--bootstrap", "-5"], "errors", "--bootstrap"),
    (["errors", "--ci", "1.5"], "errors", "--ci"),
    (["errors", "--ci", "nan"], "errors", "--ci"),
    (["errors", "--delta", "1e300", "--no-ap", "--bootstrap", "10"], "delta", "10000"),
    (["compare", "--bootstrap", "0"], "--bootstrap", "--bootstrap"),
    (["compare", "--ci", "0"], "--bootstrap", "--ci"),
    (["compare", "--delta", "nan"], "delta", "finite"),
    (["sweep", "--bootstrap", "-1", "--out", "OUT/s.csv"], "--bootstrap", ">= 0"),
    (["sweep", "--out", "OUT/s.txt"], "--out", ".csv or .json"),
    (["sweep", "--blur-kernel", "2", "--out", "OUT/s.csv"], "blur_kernel", "odd"),
    (["predict", "--method", "standard", "--out", "OUT/r.csv"], "--out", ".json"),
]


@pytest.mark.parametrize("args, field, expected", VALUE_CASES,
                         ids=[" ".join(c[0]) for c in VALUE_CASES])
def test_absurd_values_refused(ds, tmp_path, args, field, expected):
    args = [a.replace("OUT", str(tmp_path)) for a in args]
    run_cli([args[0], ds, *args[1:]], inputs=(ds,), mentions=(f"`{field}`", expected))


ARGPARSE_CASES = [["evaluate", "DS", "--method", "nope"], ["evaluate", "DS"],
                  ["sweep", "DS"], ["nope"], ["evaluate", "DS", "--method", "daec",
                                                "--delta", "three"],
                  ["errors", "DS", "--batch", "1.5"]]


@pytest.mark.parametrize("args", ARGPARSE_CASES, ids=[" ".join(a) for a in ARGPARSE_CASES])
def test_argparse_errors_are_one_line(ds, args):
    run_cli([str(ds) if a == "DS" else a for a in args], inputs=(ds,), code=2)


@pytest.mark.parametrize("args, expected", [
    (["demo", "OUT/d", "--images", "0", "--quiet"], "n_images"),
    (["demo", "OUT/d", "--images", "-3", "--quiet"], "n_images"),
    (["demo", "OUT", "--quiet"], "exists already"),
    (["bench", "--n", "0"], "--n"),
    (["bench", "--repeats", "0"], "--repeats"),
])
def test_absurd_sizes(tmp_path, args, expected):
    run_cli([a.replace("OUT", str(tmp_path)) for a in args], mentions=(expected,))


# ------------------------------------------------------------ numba cache folder

def _clean_package_copy(tmp_path):
    """The package's sources without any numba cache (so kernels must compile)."""
    dst = tmp_path / "pkg"
    shutil.copytree(ROOT / "daec_viz", dst / "daec_viz",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return dst


@pytest.mark.slow
@pytest.mark.parametrize("where", ["under-a-file", "missing", "read-only-mount"])
def test_unwritable_numba_cache_dir(ds, tmp_path, where):
    """NUMBA_CACHE_DIR that cannot be written: the command imports and runs."""
    prefix = []
    if where == "under-a-file":
        (tmp_path / "file").write_text("x")
        cache = tmp_path / "file" / "numba"
    elif where == "missing":
        cache = tmp_path / "not" / "yet"
    else:
        cache = tmp_path / "ro"
        cache.mkdir()
        prefix = read_only_mount_prefix(cache)
    # the failure was at import, so `info` shows it for two of the cases; the real
    # read-only mount also decodes (compiling into the fallback folder)
    args = ["evaluate", ds, "--method", "daec", "--json"] if where == "read-only-mount" \
        else ["info", ds, "--json"]
    res = run_cli(args, code=0, inputs=(ds,), subprocess_=True, prefix=prefix,
                  env={"NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)})
    out = json.loads(res.out)
    assert out["stats"]["AP"] > 0.9 if where == "read-only-mount" else out["num_instances"] > 0


@pytest.mark.slow
def test_read_only_package_and_home_and_cache_dir(ds, tmp_path):
    """A read-only install, a read-only home and a read-only NUMBA_CACHE_DIR: numba alone
    would raise at import ("no locator available"); daec-viz falls back to a temporary
    folder and every command runs."""
    pkg = _clean_package_copy(tmp_path)
    home = tmp_path / "home"
    cache = tmp_path / "numba-ro"
    home.mkdir()
    cache.mkdir()
    prefix = read_only_mount_prefix(pkg, home, cache)
    env = {"PYTHONPATH": str(pkg), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "NUMBA_CACHE_DIR": str(cache), "TMPDIR": str(tmp_path / "tmp"),
           "DAEC_VIZ_CACHE": ""}
    for args in (["evaluate", ds, "--method", "daec", "--json"], ["info", ds]):
        run_cli(args, code=0, inputs=(ds, pkg), subprocess_=True, prefix=prefix, env=env,
                cwd=home)
    assert list((tmp_path / "tmp").glob("daec-viz-numba-*"))  # the fallback was used


def test_shared_numba_fallback_must_be_our_own_private_folder(tmp_path):
    """numba's cache index files are pickles: a fallback folder in a shared temporary
    directory is used only when it is ours and nobody else can write it."""
    from daec_viz import _private
    mine = tmp_path / "mine"
    assert _private(str(mine)) and (mine.stat().st_mode & 0o777) == 0o700  # made private
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    assert not _private(str(open_to_all))
    link = tmp_path / "link"
    link.symlink_to(mine, target_is_directory=True)
    assert not _private(str(link))
