"""Small UI helpers shared by the pages: page frame and header, error boxes, the
simulated-data badge, timing, progress bars for long work, the AP readout."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import streamlit as st

from daec_viz.exceptions import DaecVizError, InputError, ModelNotInstalledError
from daec_viz.plots.style import fmt_num, method_label
from daec_viz_app import state

SIMULATED_TEXT = ("Simulated data: heatmaps of a simulated network on rendered people "
                  "(daec_viz.synthetic.simulate), not a trained model.")


def simulated_badge(ds: Any) -> None:
    """A visible label on pages showing a simulated dataset (from ``ds.meta.simulated``)."""
    if getattr(ds.meta, "simulated", False):
        st.badge("Simulated", icon=":material/science:", color="orange")
        st.caption(SIMULATED_TEXT)


def _hint(exc: Exception) -> str:
    if isinstance(exc, ModelNotInstalledError):
        return "Install the missing package as the message says, then reload the page."
    if isinstance(exc, InputError) and exc.field == "dataset":
        return "Choose the demo or another dataset folder in the sidebar."
    if isinstance(exc, InputError) and exc.path:
        return ("Fix the file named above (or pick another dataset folder in the sidebar); "
                "`daec-viz info FOLDER` checks a folder from the command line.")
    return "Change the control named above, or pick another dataset in the sidebar."


def guarded(body: Callable[[], None]) -> None:
    """Run a page body; errors become an ``st.error`` with what to do, never a traceback."""
    try:
        body()
    except DaecVizError as exc:
        st.error(f"{exc}\n\n**What to do:** {_hint(exc)}", icon=":material/error:")
    except (FileNotFoundError, PermissionError) as exc:
        st.error(f"{exc}\n\n**What to do:** check the path and its permissions, or pick "
                 "another dataset folder in the sidebar.", icon=":material/error:")
    except MemoryError:
        st.error("Out of memory.\n\n**What to do:** use a smaller dataset (or a subset).",
                 icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 - the app must never show a traceback
        # the traceback goes to the server's log (for a bug report), not to the page
        logging.getLogger("daec_viz_app").exception("unexpected error in the app")
        st.error(f"Unexpected error: {type(exc).__name__}: {exc}\n\n**What to do:** reload "
                 "the page; if it persists, run the same step with the `daec-viz` command "
                 "line to see details, and report it.", icon=":material/error:")


@contextmanager
def progress_after(text: str, after: float = 1.0) -> Iterator[Callable[..., None]]:
    """A progress callback ``(fraction, label="")`` for long work: its ``st.progress`` bar
    (``text``, then the label) appears only once the work has run ``after`` seconds, so
    quick or cached steps draw nothing; the bar is removed when the block ends."""
    slot = st.empty()
    t0 = time.perf_counter()
    shown = False

    def update(fraction: float, label: str = "") -> None:
        nonlocal shown
        if not shown and time.perf_counter() - t0 < after:
            return
        shown = True
        slot.progress(min(1.0, max(0.0, float(fraction))),
                      text=f"{text} {label}".strip())

    try:
        yield update
    finally:
        slot.empty()


class Timer:
    """Wall time of a page render, shown as a caption (``with Timer(): ...``)."""

    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        st.session_state["last_render_s"] = time.perf_counter() - self.t0


def run_page(body: Callable[[], None]) -> None:
    """Run a page's body, timed (:class:`Timer`) and :func:`guarded`."""
    def timed() -> None:
        with Timer():
            body()

    guarded(timed)


def page_header(title: str) -> tuple[Any, str, tuple, state.Controls]:
    """Title, the current dataset with its simulated badge, and the app-wide controls.

    Returns ``(dataset, path, cache key, controls)``.
    """
    st.title(title)
    ds, path, key = state.current()
    simulated_badge(ds)
    return ds, path, key, state.controls()


def ap_text(ap: Any) -> str:
    """An AP for a metric: 4 decimals, or "n/a: no GT" when undefined (COCOeval's -1 for
    a split without GT persons, or NaN), never "-1.0000" or "nan".

    >>> ap_text(0.71234), ap_text(-1.0), ap_text(float("nan"))
    ('0.7123', 'n/a: no GT', 'n/a: no GT')
    """
    try:
        undefined = not float(ap) >= 0  # NaN compares False
    except (TypeError, ValueError):
        undefined = True
    return fmt_num(None if undefined else ap, 4, missing="n/a: no GT")


def ap_metrics(path: str, key: tuple, ds: Any, ctl: state.Controls) -> None:
    """The AP readout: "DAEC AP" at the current controls against the *best* baseline,
    with the paired 95 % bootstrap interval of the difference and its call (a coloured
    arrow only when the interval excludes 0), the AP of every baseline shown
    (``ctl.baselines``, four metrics a row), and the data warnings, on the dataset's test
    split (or all of it)."""
    split = state.eval_split(ds)
    s = state.stats_all(path, key, ctl, split)
    v = state.verdict(path, key, ctl, split)
    lo, hi = v["diff_ci"]
    known = v["call"] != "no detectable difference"
    # DAEC and the baselines shown, four a row
    cols = [c for _ in range(0, 1 + len(ctl.baselines), 4) for c in st.columns(4)]
    cols[0].metric("DAEC AP", ap_text(s["daec"]["AP"]),
                   delta=(f"{fmt_num(v['diff'], 4, True)} [{fmt_num(lo, 4, True)}, "
                          f"{fmt_num(hi, 4, True)}] vs {v['baseline']}"
                          if np.isfinite(lo) and np.isfinite(hi) else None),
                   delta_color="normal" if known else "off",
                   help=f"COCO AP on the {split!r} split at {ctl.label()}; the interval is "
                        f"a paired bootstrap over images ({state.N_BOOT} replicates)")
    for c, m in zip(cols[1:], ctl.baselines, strict=False):
        c.metric(f"{method_label(m)} AP", ap_text(s[m]["AP"]))
    verdict_block(v)


def verdict_block(v: dict[str, Any]) -> None:
    """The verdict line of :func:`daec_viz_app.state.verdict` and its warnings."""
    verdict_line = {"better": ":green[**better**]", "worse": ":red[**worse**]",
                    "no detectable difference": "**no detectable difference**"}[v["call"]]
    st.markdown(f"Verdict: {verdict_line}. {v['sentence']}")
    for w in v["warnings"]:
        st.warning(w, icon=":material/warning:")
