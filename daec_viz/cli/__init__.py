"""The ``daec-viz`` command: a thin layer over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking the
parsed ``argparse.Namespace`` and returning an exit code). Errors of the project's own
types become one clear line on stderr and exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from daec_viz.exceptions import DaecVizError

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
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except DaecVizError as exc:
        print(f"daec-viz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"daec-viz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
