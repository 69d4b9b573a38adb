"""``daec-viz predict``: the COCO keypoint results file of one decoder configuration."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from daec_viz.cli.common import (
    Progress,
    add_dataset_argument,
    add_decode_options,
    decoder_config,
    open_dataset,
)
from daec_viz.exceptions import InputError
from daec_viz.io.atomic import write_json_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="write the COCO results json of one decoder",
                       description="Decode every instance (of one split), rescore, apply "
                                   "OKS-NMS for detector boxes, and write the COCO keypoint "
                                   "results file that `evaluate` scores (pycocotools on it "
                                   "gives the same stats).")
    add_dataset_argument(p)
    add_decode_options(p)
    p.add_argument("--split", default=None, help="one split only (e.g. test)")
    p.add_argument("--out", required=True, help="results file to write (.json)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daec_viz.evaluation.predict import predict, resolve_config
    from daec_viz.evaluation.scoring import submission

    out = Path(args.out)
    if out.suffix != ".json":
        raise InputError(f"expected a .json file name, got {out.name!r}", field="--out")
    if out.is_dir():
        raise InputError("is a folder; expected a file name", field="--out", path=out)
    ds = open_dataset(args.dataset)
    if args.split:
        ds = ds.subset(args.split)
    config = resolve_config(ds, decoder_config(args))
    with Progress("decoding", disable=args.json) as bar:
        pred = predict(ds, config, progress=bar)
    results, img_ids = submission(ds, pred.coords_img, pred.maxvals)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, list(results))  # an interrupted run never leaves a half file
    summary = {"out": str(out), "dataset": str(ds.path), "split": args.split or "all",
               "config": config.to_dict(), "results": len(results), "images": len(img_ids)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {len(results)} results ({len(img_ids)} images) to {out} "
              f"[{config.label}]")
    return 0
