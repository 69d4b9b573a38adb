"""``daec-viz app [DATASET] [--host H] [--port P] [--root DIR]``: serve the Streamlit app
(default: the demo).

The server listens on 127.0.0.1 (this machine only) unless ``--host`` says otherwise;
datasets typed into the app must lie inside the data root (``--root``, default the
user's home; :mod:`daec_viz_app.paths_policy`), and serving beyond this machine needs an
explicit ``--root``. The server options (:data:`SERVER_OPTIONS`) are the ones
``.streamlit/config.toml`` sets for ``streamlit run app.py``; the server process warms the
app up in the background as it starts (:mod:`daec_viz_app.server`).
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

from daec_viz.exceptions import InputError
from daec_viz_app.paths_policy import ENV_ROOT

#: The default address: this machine only.
DEFAULT_HOST = "127.0.0.1"
#: Server options passed on every start (and set in the checkout's
#: ``.streamlit/config.toml`` for ``streamlit run app.py``): no uploads beyond 1 MB (the
#: app has no uploader), CORS and XSRF protection on, no usage statistics. ``daec-viz app``
#: also turns the file watcher off (a server does not reload on edits; the checkout's
#: config keeps it for development).
SERVER_OPTIONS: dict[str, str] = {
    "server.address": DEFAULT_HOST,
    "server.maxUploadSize": "1",
    "server.enableCORS": "true",
    "server.enableXsrfProtection": "true",
    "browser.gatherUsageStats": "false",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="serve the Streamlit app (open it in a browser)",
                       description="Serve the daec-viz Streamlit app on a dataset folder "
                                   "(default: the bundled simulated demo, built on first "
                                   "launch). Listens on 127.0.0.1 unless --host is given; "
                                   "the app opens only dataset folders inside the data "
                                   "root (--root).")
    p.add_argument("dataset", metavar="DATASET", nargs="?", default=None,
                   help="dataset folder (annotations.json + heatmaps.h5/.npz); omit for "
                        "the demo")
    p.add_argument("--port", type=int, default=None, help="server port (default 8501)")
    p.add_argument("--host", "--address", dest="host", default=None, metavar="HOST",
                   help=f"address to listen on (default {DEFAULT_HOST}: this machine "
                        "only; 0.0.0.0 for every interface, which needs --root)")
    p.add_argument("--root", default=None, metavar="DIR",
                   help=f"folder the app may open datasets from (default ${ENV_ROOT}, "
                        "else your home folder)")
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


def is_loopback(host: str) -> bool:
    """True for an address that only this machine reaches (127.0.0.0/8, ::1,
    ``localhost``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def root_folder(root: str | None, host: str) -> Path | None:
    """The data root to serve with: ``root`` (or ``$DAEC_VIZ_APP_ROOT``) as an existing
    folder, resolved; None for the default (home). A non-loopback ``host`` needs one."""
    given = root if root is not None else os.environ.get(ENV_ROOT) or None
    if given is None:
        if not is_loopback(host):
            raise InputError(f"serving on {host} (beyond this machine) needs a data root: "
                             f"add --root DIR (or set ${ENV_ROOT}) with the folder whose "
                             "datasets visitors may open", field="--root")
        return None
    folder = Path(given).expanduser()
    if not folder.is_dir():
        raise InputError("not a folder; give the folder the app may open datasets from",
                         field="--root", path=folder)
    return folder.resolve()


def build_command(dataset: str | None, port: int | None = None, address: str | None = None,
                  headless: bool = False) -> list[str]:
    """``python -m daec_viz_app.server run <daec_viz_app/entry/app.py> [server options]
    -- [--dataset DATASET]``: Streamlit's ``run`` inside the launcher that warms the app
    up (:mod:`daec_viz_app.server`), listening on ``address`` (default 127.0.0.1)."""
    cmd = [sys.executable, "-m", "daec_viz_app.server", "run", str(entry_script())]
    options = {**SERVER_OPTIONS, "server.address": address or DEFAULT_HOST,
               "server.fileWatcherType": "none"}
    if port is not None:
        options["server.port"] = str(port)
    if headless:
        options["server.headless"] = "true"
    for name, value in options.items():
        cmd += [f"--{name}", value]
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
    host = args.host or DEFAULT_HOST
    root = root_folder(args.root, host)
    cmd = build_command(args.dataset, args.port, host, args.headless)
    env = dict(os.environ)
    if root is not None:
        env[ENV_ROOT] = str(root)
    if args.print_command:
        prefix = f"{ENV_ROOT}={root} " if root is not None else ""
        print(prefix + " ".join(cmd))
        return 0
    if os.name == "posix":  # become the server: signals reach it, no orphan is left
        sys.stdout.flush()
        os.execve(cmd[0], cmd, env)
    try:  # pragma: no cover - Windows
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:  # pragma: no cover
        return 130
