"""``daec-viz demo OUT [--seed S] [--images N] [--bias BX BY] [--noise-free] [--force]
[--pipeline {hrnet,dark,udp}] [--flip-test {none,shift,noshift}] [--leak L]
[--convention {dark,hrnet,udp}]``.

Builds the demo dataset (rendered people + heatmaps of the simulated top-down network,
see :mod:`daec_viz.synthetic.demo` and :mod:`daec_viz.synthetic.simulate`) into the folder OUT.
Any of ``--pipeline``, ``--flip-test``, ``--leak``, ``--convention`` switches to the
pipeline model (:mod:`daec_viz.synthetic.pipeline`): the network renders the training
targets of that code base, the bias comes from the pipeline (the free ``--bias`` knob is
then 0 unless given), and the cache records the pipeline and the flip mode.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from daec_viz.cli.common import Progress
from daec_viz.decoding.flip import FLIP_MODES
from daec_viz.exceptions import InputError
from daec_viz.geometry import CONVENTIONS, PIPELINES


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
    p.add_argument("--pipeline", choices=PIPELINES, default=None,
                   help="training pipeline of the simulated network: hrnet (MSRA targets "
                        "rounded to int(x/stride + 0.5)), dark (exact sub-pixel Gaussian), "
                        "udp (unit-length scale, sub-pixel target); default: the classic "
                        "simulator, or hrnet when another pipeline option is given")
    p.add_argument("--flip-test", choices=FLIP_MODES, default=None,
                   help="flip test: none, shift (HRNet's one-pixel shift) or noshift "
                        "(default none)")
    p.add_argument("--leak", type=float, default=None,
                   help="fraction in [0, 1] of the natural-grid offset the network did not "
                        "learn (default 0)")
    p.add_argument("--convention", choices=CONVENTIONS, default=None,
                   help="test-time crop/decoding convention (default: the pipeline's own; "
                        "e.g. --pipeline hrnet --convention dark = HRNet checkpoints in "
                        "DarkPose/DAEC's code)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from daec_viz.synthetic.demo import build_demo
    from daec_viz.synthetic.pipeline import PipelineSettings
    from daec_viz.synthetic.simulate import NetworkKnobs

    knobs = NetworkKnobs.noise_free() if args.noise_free else NetworkKnobs()
    settings = None
    if any(v is not None for v in (args.pipeline, args.flip_test, args.leak,
                                   args.convention)):
        settings = PipelineSettings(pipeline=args.pipeline or "hrnet",
                                    flip_test=args.flip_test or "none",
                                    leak=0.0 if args.leak is None else args.leak,
                                    convention=args.convention)
        knobs = knobs.replace(bias=(0.0, 0.0))
    if args.bias is not None:
        knobs = knobs.replace(bias=tuple(args.bias))
    out = Path(args.out)
    if out.exists() and not args.force:  # checked here too: no progress bar flashes
        raise InputError("exists already; pass --force to replace it", field="OUT", path=out)
    t0 = time.perf_counter()
    with Progress("building demo", disable=args.quiet or args.json) as bar:
        path = build_demo(out, seed=args.seed, n_images=args.images, knobs=knobs,
                          progress=bar, overwrite=args.force, pipeline=settings)
    seconds = time.perf_counter() - t0
    from daec_viz.io.datasets import load_dataset

    with load_dataset(path) as ds:
        counts = ds.instances["split"].value_counts().to_dict()
        n_inst = len(ds)
    summary = {"path": str(path), "seed": args.seed, "images": args.images,
               "instances": n_inst, "splits": {str(k): int(v) for k, v in counts.items()},
               "knobs": knobs.to_dict(),
               "pipeline": None if settings is None else settings.to_dict(),
               "seconds": round(seconds, 2)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
        print(f"demo written to {path}: {args.images} images, {n_inst} instances "
              f"({splits}) in {seconds:.1f} s")
    return 0
