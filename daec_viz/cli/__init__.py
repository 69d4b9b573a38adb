"""The ``daec-viz`` command: a thin layer over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking the
parsed ``argparse.Namespace`` and returning an exit code). Errors of the project's own
types become one clear line on stderr and exit code 2; so do the operating system's
(a file that cannot be read or written: permission denied, a folder where a file was
expected, a full disk), named with their file. Nothing prints a traceback.
:class:`~daec_viz.exceptions.DataWarning` s (maps decoded as invalid, crowd-only ground
truth, no results) are printed as one ``warning:`` line each.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from daec_viz.cli.common import DaecVizParser
from daec_viz.exceptions import DaecVizError, DataWarning

# Modules of this package that provide sub-commands, in the order shown by --help.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "info_cmd",
    "evaluate_cmd",
    "compare_cmd",
    "predict_cmd",
    "sweep_cmd",
    "errors_cmd",
    "coco_eval_cmd",
    "pckh_cmd",
    "demo_cmd",
    "infer_cmd",
    "app_cmd",
    "bench_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available sub-command registered."""
    parser = DaecVizParser(
        prog="daec-viz",
        description="Heatmap decoding for pose estimation: decode, evaluate, sweep Δ, "
                    "analyse error bias, and explore it all in a Streamlit app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a sub-command whose module is not there yet
            if exc.name and exc.name.endswith(name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``daec-viz`` console script."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    prefix = f"daec-viz {args.command}"

    def show(message: Warning | str, category: type[Warning], *_: object, **__: object
             ) -> None:
        print(f"{prefix}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", DataWarning)
            warnings.showwarning = show  # restored when the block ends
            return int(args.func(args) or 0)
    except DaecVizError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # permission denied, a folder for a file, disk full, ...
        print(f"{prefix}: error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def os_error_line(exc: OSError) -> str:
    """One line for an operating-system error: the file, then what went wrong.

    >>> os_error_line(PermissionError(13, "Permission denied", "/data/run/annotations.json"))
    '/data/run/annotations.json: cannot access it (Permission denied)'
    """
    what = exc.strerror or str(exc)
    if exc.filename is None:
        return what
    return f"{exc.filename}: cannot access it ({what})"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
