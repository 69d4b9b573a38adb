"""``daec-viz coco-eval GT.json RESULTS.json``: the 10 COCO keypoint stats of a results file."""

from __future__ import annotations

import argparse
import json
import sys

from daec_viz.evaluation.coco_eval import ENGINES, STAT_NAMES, coco_keypoint_stats


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``coco-eval`` sub-command."""
    p = subparsers.add_parser(
        "coco-eval", help="COCO keypoint AP/AR of a results json",
        description="Evaluate COCO keypoint results (image px) against COCO keypoint "
                    "annotations: the 10 stats of pycocotools' COCOeval (keypoints).")
    p.add_argument("gt", metavar="GT.json", help="COCO keypoint annotations")
    p.add_argument("results", metavar="RESULTS.json",
                   help="results: a list of {image_id, category_id, keypoints, score}")
    p.add_argument("--engine", choices=ENGINES, default="hotcoco",
                   help="evaluator: hotcoco (fast, default) or pycocotools (reference)")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    stats = coco_keypoint_stats(args.gt, args.results, engine=args.engine)
    if args.json:
        json.dump(stats, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        width = max(len(n) for n in STAT_NAMES)
        print(f"{'stat':<{width}}  value   ({args.engine})")
        for name in STAT_NAMES:
            print(f"{name:<{width}}  {stats[name]:.4f}")
    return 0
