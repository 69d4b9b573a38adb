"""``daec-viz demo OUT [--seed S] [--images N] [--bias BX BY] [--noise-free] [--force]``.

Builds the demo dataset (rendered people + heatmaps of the simulated top-down network,
see :mod:`daec_viz.synthetic.demo` and :mod:`daec_viz.synthetic.simulate`) into the folder OUT.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from daec_viz.cli.common import Progress
from daec_viz.exceptions import InputError


def register(subparsers: Any) -> None:
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser(
        "demo", help="build the simulated demo dataset (images, annotations, heatmaps)",
        description="Generate a demo dataset folder from a seed: JPEG images of rendered "
                    "people, COCO keypoint annotations with train/test splits, and the "
                    "heatmaps of a simulated top-down network (256x192 input, 64x48 maps, "
                    "sigma 2, bottom-right-biased errors).")
    p.add_argument("out", metavar="OUT", help="dataset folder to create")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--images", type=int, default=300, help="number of images (default 300)")
    p.add_argument("--bias", type=float, nargs=2, metavar=("BX", "BY"), default=None,
                   help="systematic error of the simulated network, heatmap px "
                        "(default 0.45 0.25: toward the bottom-right)")
    p.add_argument("--noise-free", action="store_true",
                   help="exact Gaussians (sigma 2) at the exact GT locations, no errors")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from daec_viz.synthetic.demo import build_demo
    from daec_viz.synthetic.simulate import NetworkKnobs

    knobs = NetworkKnobs.noise_free() if args.noise_free else NetworkKnobs()
    if args.bias is not None:
        knobs = knobs.replace(bias=tuple(args.bias))
    out = Path(args.out)
    if out.exists() and not args.force:  # checked here too: no progress bar flashes
        raise InputError("exists already; pass --force to replace it", field="OUT", path=out)
    t0 = time.perf_counter()
    with Progress("building demo", disable=args.quiet or args.json) as bar:
        path = build_demo(out, seed=args.seed, n_images=args.images, knobs=knobs,
                          progress=bar, overwrite=args.force)
    seconds = time.perf_counter() - t0
    from daec_viz.io.datasets import load_dataset

    with load_dataset(path) as ds:
        counts = ds.instances["split"].value_counts().to_dict()
        n_inst = len(ds)
    summary = {"path": str(path), "seed": args.seed, "images": args.images,
               "instances": n_inst, "splits": {str(k): int(v) for k, v in counts.items()},
               "knobs": knobs.to_dict(), "seconds": round(seconds, 2)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
        print(f"demo written to {path}: {args.images} images, {n_inst} instances "
              f"({splits}) in {seconds:.1f} s")
    return 0
