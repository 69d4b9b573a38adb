"""The app as a server: start-up warm-up and the launcher ``daec-viz app`` runs.

Streamlit runs the app's script only when a browser connects, so without help the first
visit after the server starts pays for importing plotly, pandas, pycocotools/hotcoco and
numba, loading (or compiling) the decoder kernels, opening the dataset and computing the
default view. :func:`start_warmup` does that work once, in a background thread, as soon
as the server process starts:

1. runs every decoder kernel (float32 maps, raw and smoothed; the DAEC grid of the
   sweeps; OKS-NMS), so numba loads them from its cache or compiles them (the library
   only: nothing here imports streamlit before the server has read its options);
2. once Streamlit's runtime exists, imports every module the pages use;
3. for the dataset the server opens with (the operator's ``DATASET``, else the demo once
   it exists), computes through the app's own cached functions (:mod:`daec_viz_app.state`)
   what each page shows at the opening controls: the same values a session would
   compute, so a browser session then finds them cached. The default sweep is only read
   from its disk cache here, never computed (that is the AP vs Δ page's job, with its
   progress bar).

Nothing in the warm-up writes anything but numba's cache; it never changes a result, and
an error in it is logged and otherwise ignored (the session then computes what it needs
itself). ``DAEC_VIZ_WARMUP=0`` turns it off.

``python -m daec_viz_app.server STREAMLIT-RUN-ARGS...`` (what ``daec-viz app`` executes)
starts the warm-up and then Streamlit's own command line (``streamlit run ...``) in the
same process. With ``streamlit run app.py`` the warm-up starts with the first session
instead (:func:`daec_viz_app.main.run` calls :func:`start_warmup`), which still spares the
other pages' first visits.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["start_warmup", "warm_imports", "warm_kernels", "warm_dataset", "warm_up",
           "main", "ENV_WARMUP", "WARMUP_THREAD"]

ENV_WARMUP = "DAEC_VIZ_WARMUP"
WARMUP_THREAD = "daec-viz-warmup"
_LOG = logging.getLogger("daec_viz_app.server")
_STARTED = threading.Event()
_LOCK = threading.Lock()
#: Seconds each warm-up step took (``step -> (wall, thread CPU)``), for the benchmark and
#: the server log.
TIMINGS: dict[str, tuple[float, float]] = {}


def _timed(name: str, fn: Callable[[], Any]) -> Any:
    t, c = time.perf_counter(), time.thread_time()
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a warm-up step must never break the server
        _LOG.warning("warm-up step %r failed (the first session computes it instead)",
                     name, exc_info=True)
        return None
    finally:
        TIMINGS[name] = (time.perf_counter() - t, time.thread_time() - c)


def warm_imports() -> None:
    """Import what the app's script and pages import (streamlit, pandas, plotly, numba,
    pycocotools/hotcoco and daec-viz's modules)."""
    import importlib
    for name in ("daec_viz_app.state", "daec_viz_app.ui", "daec_viz_app.main",
                 "plotly.graph_objects", "plotly.io", "daec_viz.plots.overlays",
                 "daec_viz.plots.sweep", "daec_viz.plots.errors", "daec_viz.plots.compare",
                 "daec_viz.plots.learn", "daec_viz.analysis", "daec_viz.analysis.taxonomy",
                 "daec_viz.evaluation.bootstrap", "daec_viz.evaluation.compare",
                 "daec_viz.evaluation.coco_eval", "daec_viz.evaluation.scoring",
                 "daec_viz.evaluation.delta_uncertainty", "daec_viz.evaluation.pckh",
                 "daec_viz.decoding.benchmark", "daec_viz.synthetic.teaching",
                 "pycocotools.coco", "pycocotools.cocoeval", "hotcoco", "PIL.Image"):
        try:
            importlib.import_module(name)
        except ImportError:  # an optional module of a page: that page reports it
            _LOG.info("warm-up: cannot import %s", name)


def warm_kernels() -> None:
    """Run every decoder once on a few float32 maps (raw and smoothed, as the app decodes
    them), the DAEC grid of the sweeps, OKS-NMS and the bootstrap's accumulation, so
    numba has them loaded from its cache (or compiled) before a page needs them."""
    import numpy as np

    from daec_viz.decoding import ALL_METHODS, decode, decode_daec_grid
    from daec_viz.decoding.config import DEFAULT_BLUR_KERNEL, DecoderConfig
    from daec_viz.evaluation.coco_eval import oks_nms
    from daec_viz.evaluation.sweep import blurs_itself

    yy, xx = np.mgrid[0:16, 0:12]
    one = np.exp(-((xx - 5.3) ** 2 + (yy - 7.6) ** 2) / 8.0)
    maps = np.broadcast_to(one, (2, 3, 16, 12)).astype(np.float32)
    for method in ALL_METHODS:
        kernels = {DEFAULT_BLUR_KERNEL} if blurs_itself(method) else {None,
                                                                      DEFAULT_BLUR_KERNEL}
        for kernel in kernels:
            try:
                cfg = DecoderConfig(method, blur_kernel=kernel)
            except Exception:  # noqa: BLE001 - a decoder without a blur option
                cfg = DecoderConfig(method)
            decode(maps, cfg.resolved(sigma=2.0))
    decode_daec_grid(maps, sigma=2.0, deltas=[0.0, 0.5, 4.0], patterns=["BR", "UL", "BR"])
    kp = np.repeat(np.arange(9, dtype=float).reshape(3, 3, 1), 2, axis=2)  # (n, K, 2)
    oks_nms(kp, np.array([0.9, 0.8, 0.7]), np.array([100.0, 100.0, 100.0]),
            image_ids=np.array([1, 1, 2]), sigmas=np.full(3, 0.05))


def _wait_for_runtime(timeout: float = 120.0) -> bool:
    """Wait until Streamlit's runtime exists (the app's cached values live in it), without
    importing streamlit first: the launcher's main thread is still reading its
    command-line options, which an import from here would race."""
    t0 = time.monotonic()
    while True:
        rt = sys.modules.get("streamlit.runtime.runtime")
        if rt is not None and rt.Runtime.exists():
            return True
        if time.monotonic() - t0 > timeout:
            return False
        time.sleep(0.1)


class _NotFromWarmup(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" notes about the warm-up thread (it
    calls the app's cached functions outside any session, on purpose)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARMUP_THREAD


def warm_dataset(path: str) -> None:
    """Compute what the pages show at the opening controls of the dataset folder ``path``
    (pattern BR, no smoothing, every baseline, β default; Δ as :func:`state.opening_delta`
    gives it, σ from the cache), through the app's cached functions."""
    from daec_viz.decoding.config import DEFAULT_BETA, DecoderConfig
    from daec_viz.evaluation.sweep import BASELINES
    from daec_viz_app import state

    key = state.dataset_key(path)
    ds = state.load(path, key)
    state.heatmaps(path, key)
    sigma = float(DecoderConfig("daec").resolved(sigma=float(ds.meta.sigma)).sigma)
    delta, _ = state.opening_delta(path, key, "BR", False, sigma, DEFAULT_BETA)
    ctl = state.Controls(float(delta), "BR", sigma, False, state.shown_methods(BASELINES),
                         DEFAULT_BETA)
    split = state.eval_split(ds)
    daec = ctl.config("daec").to_json()
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("decode", lambda: state.decoded_all(path, key, ctl)),
        ("stats", lambda: state.stats_all(path, key, ctl, split)),
        ("verdict", lambda: state.verdict(path, key, ctl, split)),
        ("explore", lambda: state.matched_gt(path, key, daec)),
        ("errors", lambda: state.errors(path, key, ctl)),
        ("compare", lambda: state.stat_intervals(path, key, ctl, split)),
    ]
    for name, fn in steps:
        _timed(f"dataset.{name}", fn)


def _opening_dataset(script_args: Sequence[str]) -> str | None:
    """The folder the first session opens: the operator's dataset (``--dataset DIR`` in
    the script's arguments, else ``$DAEC_VIZ_DATASET``), else the demo when it has been
    built already (the warm-up never builds it)."""
    from daec_viz_app.state import resolve_initial_dataset
    preselected = resolve_initial_dataset(list(script_args))
    if preselected:
        p = Path(preselected).expanduser()
        return str(p.resolve()) if p.is_dir() else None
    from daec_viz.io.paths import demo_dir
    d = demo_dir()
    return str(d.resolve()) if (d / "annotations.json").is_file() else None


def warm_up(script_args: Sequence[str] = (), dataset: bool = True) -> None:
    """The whole warm-up, in the calling thread (see the module docstring);
    ``script_args``: the app script's own arguments (``--dataset DIR``)."""
    t0 = time.perf_counter()
    _timed("kernels", warm_kernels)  # the library only: no streamlit import
    if dataset and not _wait_for_runtime():
        return
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _NotFromWarmup())
    _timed("imports", warm_imports)
    if dataset:
        path = _opening_dataset(script_args)
        if path is not None:
            _timed("dataset", lambda: warm_dataset(path))
    _LOG.info("warm-up done in %.1f s: %s", time.perf_counter() - t0,
              ", ".join(f"{k} {w:.2f} s ({c:.2f} s CPU)" for k, (w, c) in TIMINGS.items()))


def _in_app_test() -> bool:
    try:
        from streamlit import config
        return bool(config.get_option("global.appTest"))
    except Exception:  # noqa: BLE001
        return False


def start_warmup(script_args: Sequence[str] = ()) -> threading.Thread | None:
    """Start :func:`warm_up` in a daemon thread, once per process (later calls return
    None). Off with ``DAEC_VIZ_WARMUP=0`` and inside Streamlit's AppTest."""
    if os.environ.get(ENV_WARMUP, "1").strip() in ("0", "false", "no", "off"):
        return None
    with _LOCK:
        if _STARTED.is_set() or _in_app_test():
            return None
        _STARTED.set()
    t = threading.Thread(target=warm_up, args=(tuple(script_args),), name=WARMUP_THREAD,
                         daemon=True)
    t.start()
    return t


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m daec_viz_app.server run SCRIPT [options] [-- --dataset DIR]``: start
    the warm-up, then Streamlit's command line with ``argv`` in this process."""
    args = list(sys.argv[1:] if argv is None else argv)
    start_warmup(args[args.index("--") + 1:] if "--" in args else ())
    from streamlit.web import cli as stcli
    sys.argv = ["streamlit", *args]
    sys.exit(stcli.main())


if __name__ == "__main__":
    main()
