"""The app as a server: the data-root policy, no uploads and no unpickling, the start-up
warm-up, the per-config bootstrap cache, and two browser sessions at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apptest_support import stop_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daec_viz.exceptions import InputError
from daec_viz_app.paths_policy import (
    ENV_ROOT,
    allowed_file,
    allowed_roots,
    app_root,
    check_dataset_folder,
    inside,
    resolve_path,
)

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------- the policy

@pytest.fixture()
def tree(tmp_path):
    """root/ with a dataset-like folder a/b, a folder beside root (outside), a symlink
    root/out -> outside, and root/a/evil holding annotations.json -> outside."""
    root, outside = tmp_path / "root", tmp_path / "root-other"
    (root / "a" / "b").mkdir(parents=True)
    outside.mkdir()
    (outside / "annotations.json").write_text("{}")
    (root / "out").symlink_to(outside, target_is_directory=True)
    evil = root / "a" / "evil"
    evil.mkdir()
    (evil / "annotations.json").symlink_to(outside / "annotations.json")
    return root.resolve(), outside.resolve()


def test_inside_root_is_opened_resolved(tree):
    root, _ = tree
    assert check_dataset_folder(str(root / "a" / "b"), (root,)) == root / "a" / "b"
    assert check_dataset_folder("a/./b/../b", (root,)) == root / "a" / "b"  # from the root
    assert check_dataset_folder(str(root), (root,)) == root


@pytest.mark.parametrize("typed", ["../root-other", "a/../../root-other", "out",
                                   "out/../root-other", "/"])
def test_escapes_are_refused_naming_path_and_root(tree, typed):
    root, outside = tree
    with pytest.raises(InputError) as e:
        check_dataset_folder(typed, (root,))
    msg = str(e.value)
    assert typed in msg and str(root) in msg and "outside the folders" in msg
    assert e.value.field == "dataset folder"


def test_the_operators_dataset_may_link_its_images_out(tree, monkeypatch):
    """`daec-viz infer` links OUT/images to the user's images folder: a typed dataset
    may not do that, the dataset the operator started the server with may."""
    root, outside = tree
    ds = root / "a" / "run"
    ds.mkdir()
    (ds / "images").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv(ENV_ROOT, str(root))
    with pytest.raises(InputError, match="images lies outside"):
        check_dataset_folder(str(ds), allowed_roots())
    roots = allowed_roots(preselected=ds)
    assert outside in roots
    assert check_dataset_folder(str(ds), roots) == ds
    assert allowed_file(ds / "images" / "annotations.json", ds, roots) is not None


def test_a_symlinked_member_is_refused(tree):
    root, outside = tree
    with pytest.raises(InputError, match="annotations.json lies outside") as e:
        check_dataset_folder(str(root / "a" / "evil"), (root,))
    assert str(outside / "annotations.json") in str(e.value)


def test_prefix_is_not_inside(tree):
    root, outside = tree  # root-other starts with the root's name
    assert str(outside).startswith(str(root))
    assert not inside(outside, (root,)) and inside(root / "a", (root,))


def test_not_a_folder_and_unusable_paths(tree):
    root, _ = tree
    with pytest.raises(InputError, match="not a folder"):
        check_dataset_folder("a/missing", (root,))
    with pytest.raises(InputError, match="NUL"):
        check_dataset_folder("a\x00b", (root,))
    with pytest.raises(InputError, match="empty"):
        check_dataset_folder("  ", (root,))


def test_roots_from_the_environment(tree, monkeypatch):
    root, outside = tree
    monkeypatch.setenv(ENV_ROOT, str(root / "out"))  # a root given through a symlink
    assert app_root() == outside
    roots = allowed_roots(str(root / "a"))
    assert roots[0] == outside and roots[-1] == root / "a"
    monkeypatch.delenv(ENV_ROOT)
    assert app_root() == Path.home().resolve()


def test_allowed_file(tree):
    root, outside = tree
    folder = root / "a"
    (folder / "img.jpg").write_bytes(b"x")
    (folder / "link.jpg").symlink_to(outside / "annotations.json")
    assert allowed_file(folder / "img.jpg", folder) == folder / "img.jpg"
    assert allowed_file(folder / "link.jpg", folder) is None
    assert allowed_file(folder / "link.jpg", folder, (outside,)) == folder / "link.jpg"
    assert allowed_file(None, folder) is None


SEGMENTS = st.sampled_from(["..", ".", "a", "b", "out", "evil", "", "~", "root-other",
                            "missing", "/"])


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(SEGMENTS, min_size=1, max_size=8), absolute=st.booleans())
def test_no_path_string_leads_out_of_the_root(tree, parts, absolute):
    """Whatever the path typed, the folder returned is the typed path resolved and lies
    inside the root; every refusal is an InputError naming the root."""
    root, _ = tree
    typed = ("/" if absolute else "") + "/".join(parts)
    try:
        got = check_dataset_folder(typed, (root,))
    except InputError as exc:
        assert str(root) in str(exc) or "not a folder" in str(exc) or "empty" in str(exc)
        return
    assert got == resolve_path(typed, root) and inside(got, (root,)) and got.is_dir()
    assert got == Path(os.path.realpath(os.path.join(root, os.path.expanduser(typed))))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=300))
def test_any_text_gives_a_folder_inside_or_an_input_error(tree, typed):
    root, _ = tree
    try:
        got = check_dataset_folder(typed, (root,))
    except InputError:
        return
    assert inside(got, (root,))


# --------------------------------------------------------- no uploads, no unpickling

APP_AND_LIBRARY = [p for d in ("daec_viz", "daec_viz_app") for p in (ROOT / d).rglob("*.py")]


def test_no_uploader_and_uploads_capped():
    """The app has no file uploader, and the server caps uploads anyway (1 MB)."""
    import tomllib

    from daec_viz.cli.app_cmd import SERVER_OPTIONS
    users = [p for p in APP_AND_LIBRARY if "file_uploader" in p.read_text("utf-8")]
    assert users == []
    assert SERVER_OPTIONS["server.maxUploadSize"] == "1"
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["maxUploadSize"] == 1


_PICKLE = re.compile(r"^\s*(import (c?pickle|dill|joblib|shelve)|from (c?pickle|dill|joblib|"
                     r"shelve) import)|allow_pickle\s*=\s*True|read_pickle|persist\s*=|"
                     r"torch\.load\(", re.M)


def test_nothing_is_unpickled():
    """No module imports pickle (or a pickling library) or reads pickles, npz files are
    read with allow_pickle=False, and no Streamlit cache persists to disk (st.cache_data
    pickles only in memory, values it made itself)."""
    hits = [f"{p.relative_to(ROOT)}: {m.group(0).strip()}" for p in APP_AND_LIBRARY
            for m in _PICKLE.finditer(p.read_text("utf-8"))]
    assert hits == []


# ------------------------------------------------------------- the app in AppTest

def test_a_folder_outside_the_root_is_refused_and_the_app_stays_usable(app, tmp_path,
                                                                        monkeypatch,
                                                                        app_demo):
    from apptest_support import no_errors
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.setenv(ENV_ROOT, str(app_demo.parent))
    app.sidebar.radio(key="dataset_choice").set_value("Another dataset folder").run()
    app.sidebar.text_input(key="folder_input").input(f"{app_demo}/../../{outside.parent.name}"
                                                      f"/{outside.name}").run()
    assert not app.exception
    msg = " ".join(e.value for e in app.sidebar.error)
    assert "outside the folders" in msg and str(app_demo.parent) in msg
    assert outside.name in msg
    assert app.session_state["dataset_path"] is None
    app.sidebar.text_input(key="folder_input").input(app_demo.name).run()  # relative
    no_errors(app)
    assert app.session_state["dataset_path"] == str(app_demo.resolve())
    assert app.metric  # the page renders again


def test_verdict_and_intervals_equal_the_library(app_demo):
    """The app caches the bootstrap per config; its verdict and intervals are exactly
    what paired_verdict and bootstrap_stats give."""
    import numpy as np

    from daec_viz.evaluation.bootstrap import bootstrap_stats, defined, percentile_interval
    from daec_viz.evaluation.compare import baseline_configs, best_of, paired_verdict
    from daec_viz_app import state
    path = str(app_demo)
    key = state.dataset_key(path)
    ds = state.load(path, key)
    split = state.eval_split(ds)
    for ctl in (state.Controls(3.5, "BR", 2.0, False), state.Controls(1.0, "UL", 2.0, True)):
        v = state.verdict(path, key, ctl, split)
        bases = {n: c.to_json() for n, c in baseline_configs(beta=ctl.beta).items()}
        best = best_of({n: state.stats(path, key, j, split) for n, j in bases.items()})
        ref = paired_verdict(state.matches(path, key, ctl.config("daec").to_json(), split),
                             state.matches(path, key, bases[best], split), "DAEC", best,
                             n_boot=state.N_BOOT)
        assert {k: v[k] for k in ref.to_dict()} == ref.to_dict()
        ci = state.stat_intervals(path, key, ctl, split)
        ms = [state.matches(path, key, ctl.config(m).to_json(), split) for m in ctl.methods]
        ref_ci = percentile_interval(defined(bootstrap_stats(ms, n_boot=state.N_BOOT)[1]))
        for i, m in enumerate(ctl.methods):
            np.testing.assert_array_equal(np.array(list(ci[m].values())), ref_ci[i])


def test_warm_up_runs_every_step(app_demo, caplog):
    from daec_viz_app import server
    server.warm_up([], dataset=False)
    server.warm_dataset(str(app_demo))
    assert not [r for r in caplog.records if "warm-up step" in r.getMessage()]
    assert {"imports", "kernels"} <= set(server.TIMINGS)
    assert {f"dataset.{s}" for s in ("decode", "stats", "verdict", "explore", "errors",
                                     "compare")} <= set(server.TIMINGS)


def test_warm_up_is_off_on_request(monkeypatch):
    from daec_viz_app import server
    monkeypatch.setenv(server.ENV_WARMUP, "0")
    assert server.start_warmup([]) is None


# --------------------------------------------- two browser sessions, one real server

def _server(tmp, data, port):
    """``daec-viz app`` (the launcher with its warm-up) on 127.0.0.1:port."""
    env = {**os.environ, "DAEC_VIZ_CACHE": str(tmp / "cache"), ENV_ROOT: str(tmp)}
    env.pop("DAEC_VIZ_DATASET", None)
    log = open(tmp / "streamlit.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "daec_viz", "app", str(data),
                             "--port", str(port), "--headless"], cwd=tmp, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, log


@pytest.mark.browser
@pytest.mark.slow
def test_two_sessions_keep_their_state_and_a_sweep_does_not_block_the_other(tmp_path):
    from test_app_e2e import (
        CHROME_ARGS,
        CHROMIUM,
        _free_port,
        _metric,
        _settle,
        _wait_healthy,
    )
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright
    from synthetic import make_dataset
    # ~600 people without images: quick to write, and a sweep that takes a while
    data = make_dataset(tmp_path / "data", n_images=400, seed=3, jitter=0.7, noise=0.02)
    port = _free_port()
    proc, log = _server(tmp_path, data, port)
    url = f"http://127.0.0.1:{port}"
    sweeping = '[data-testid="stProgress"]'
    try:
        _wait_healthy(url, proc, timeout=120)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS,
                                         headless=True)
            a = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
            b = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
            for pg in (a, b):
                pg.set_default_timeout(120_000)
                pg.goto(f"{url}/", wait_until="domcontentloaded")
                _settle(pg)
            before = _metric(b, "DAEC AP")
            b_delta = float(b.locator('[data-testid="stSidebar"] input[type="range"]')
                            .first.input_value())

            # A starts the default sweep (no sweep is cached for this dataset yet)
            a.goto(f"{url}/ap_vs_delta", wait_until="domcontentloaded")
            a.wait_for_selector(sweeping, timeout=120_000)
            # B changes its Δ while A sweeps, and its page follows before A is done
            slider = b.locator('[data-testid="stSidebar"] input[type="range"]').first
            slider.focus()
            for _ in range(2):
                b.keyboard.press("ArrowLeft")
            after = before
            while after == before and a.locator(sweeping).count() > 0:
                time.sleep(0.1)
                after = _metric(b, "DAEC AP")
            still_sweeping = a.locator(sweeping).count() > 0
            assert after != before, "B's readout did not follow its Δ before A's sweep ended"
            assert still_sweeping, "A's sweep ended before B's page answered"

            # A finishes its sweep; each session kept its own controls
            a.wait_for_selector(sweeping, state="detached", timeout=600_000)
            _settle(a)
            a_slider = a.locator('[data-testid="stSidebar"] input[type="range"]').first
            assert float(slider.input_value()) == b_delta - 1.0
            assert float(a_slider.input_value()) == b_delta  # untouched by B
            assert a.get_by_role("heading", name="AP vs Δ").count() == 1
            assert b.get_by_role("heading", name="Explore").count() == 1
            for pg in (a, b):
                assert pg.locator('[data-testid="stException"]').count() == 0
            browser.close()
    finally:
        stop_server(proc, log)


def test_a_name_longer_than_the_file_system_allows_is_an_input_error(tree):
    root, _ = tree
    with pytest.raises(InputError):
        check_dataset_folder("0" * 300, (root,))
