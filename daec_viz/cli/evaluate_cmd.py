"""``daec-viz evaluate``: COCO keypoint stats of one decoder on a dataset."""

from __future__ import annotations

import argparse

from daec_viz.cli.common import (
    Progress,
    add_dataset_argument,
    add_decode_options,
    decoder_config,
    open_dataset,
    print_stats,
)
from daec_viz.evaluation.coco_eval import ENGINES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="COCO AP/AR of one decoder on a dataset",
                       description="Decode every cached instance, map to image px and print "
                                   "the 10 COCO keypoint stats.")
    add_dataset_argument(p)
    add_decode_options(p)
    p.add_argument("--split", default=None, help="evaluate one split only (e.g. test)")
    p.add_argument("--engine", choices=ENGINES, default="hotcoco",
                   help="COCO evaluator: hotcoco (fast) or pycocotools (reference)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daec_viz.evaluation.predict import resolve_config
    from daec_viz.evaluation.scoring import evaluate

    ds = open_dataset(args.dataset)
    if args.split:
        ds = ds.subset(args.split)
    config = resolve_config(ds, decoder_config(args))
    with Progress("decoding", disable=args.json) as bar:
        stats = evaluate(ds, config, engine=args.engine, progress=bar)
    print_stats(stats, args.json, {"dataset": str(ds.path), "method": config.method,
                                   "config": config.to_dict(), "split": args.split or "all",
                                   "instances": len(ds)})
    return 0
