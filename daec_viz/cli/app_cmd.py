"""``daec-viz app [DATASET] [--port P]``: open the Streamlit app (default: the demo)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from daec_viz.exceptions import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="open the Streamlit app in the browser",
                       description="Run the daec-viz Streamlit app on a dataset folder "
                                   "(default: the bundled simulated demo, built on first "
                                   "launch).")
    p.add_argument("dataset", metavar="DATASET", nargs="?", default=None,
                   help="dataset folder (annotations.json + heatmaps.h5/.npz); omit for "
                        "the demo")
    p.add_argument("--port", type=int, default=None, help="server port (default 8501)")
    p.add_argument("--address", default=None, help="server address (default: Streamlit's)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.add_argument("--print-command", action="store_true",
                   help="print the streamlit command instead of running it")
    p.set_defaults(func=run)


def entry_script() -> Path:
    """The app's entry script, located through the installed ``daec_viz_app`` package (so
    it works without the repository checkout)."""
    rel = Path("entry") / "app.py"  # not main.py: see daec_viz_app/entry/app.py
    spec = importlib.util.find_spec("daec_viz_app")
    if spec is not None and spec.submodule_search_locations:
        main = Path(list(spec.submodule_search_locations)[0]) / rel
    else:  # an editable install that only maps daec_viz: the app sits next to it
        main = Path(__file__).resolve().parents[2] / "daec_viz_app" / rel
        if not main.is_file():
            raise InputError("the daec_viz_app package is not installed; reinstall "
                             "daec-viz (pip install daec-viz)", field="daec_viz_app")
    if not main.is_file():
        raise InputError("not found; reinstall daec-viz", path=main)
    return main


def build_command(dataset: str | None, port: int | None = None, address: str | None = None,
                  headless: bool = False) -> list[str]:
    """``python -m streamlit run <daec_viz_app/entry/app.py> [server options] --
    [--dataset DATASET]``."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry_script())]
    if port is not None:
        cmd += ["--server.port", str(port)]
    if address is not None:
        cmd += ["--server.address", address]
    if headless:
        cmd += ["--server.headless", "true"]
    cmd += ["--"]
    if dataset is not None:
        folder = Path(dataset).expanduser()
        if not folder.is_dir():
            raise InputError("not a folder; give a dataset folder (annotations.json + "
                             "heatmaps.h5) or omit it for the demo", field="DATASET",
                             path=folder)
        cmd += ["--dataset", str(folder.resolve())]
    return cmd


def run(args: argparse.Namespace) -> int:
    cmd = build_command(args.dataset, args.port, args.address, args.headless)
    if args.print_command:
        print(" ".join(cmd))
        return 0
    if os.name == "posix":  # become the server: signals reach it, no orphan is left
        sys.stdout.flush()
        os.execv(cmd[0], cmd)
    try:  # pragma: no cover - Windows
        return subprocess.call(cmd)
    except KeyboardInterrupt:  # pragma: no cover
        return 130
