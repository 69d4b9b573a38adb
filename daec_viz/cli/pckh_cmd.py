"""``daec-viz pckh ANNOT.h5 PREDS.mat``: PCKh@0.5 and @0.1 of MPII predictions."""

from __future__ import annotations

import argparse
import json
import sys

from daec_viz.evaluation.pckh import (
    MPII_JOINT_NAMES,
    PCKH_GROUPS,
    load_mpii_annotations,
    load_mpii_predictions,
    pckh,
)
from daec_viz.exceptions import InputError

_ROWS = (*PCKH_GROUPS, "Mean", "MeanWeighted")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``pckh`` sub-command."""
    p = subparsers.add_parser(
        "pckh", help="MPII PCKh of a predictions .mat",
        description="PCKh of MPII predictions (N x 16 x 2, same pixel convention as the "
                    "annotations) against an annotation .h5 (part, normalize). Joints with "
                    "missing ground truth (x <= 0) are left out; Mean is the unweighted "
                    "mean over the 14 joints other than pelvis and thorax.")
    p.add_argument("annot", metavar="ANNOT.h5", help="annotations (e.g. MPII valid.h5)")
    p.add_argument("preds", metavar="PREDS.mat", help="predictions (field `preds`)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    annot = load_mpii_annotations(args.annot)
    preds = load_mpii_predictions(args.preds)
    if preds.shape != annot["part"].shape:
        raise InputError(f"expected {annot['part'].shape[0]} instances like {args.annot}, "
                         f"got {preds.shape[0]}", field="preds", path=args.preds)
    res = pckh(preds, annot["part"], annot["normalize"])
    if args.json:
        out = {f"PCKh@{thr:g}": {**{k: r[k] for k in _ROWS},
                                 "per_joint": dict(zip(MPII_JOINT_NAMES,
                                                       r["per_joint"].tolist(), strict=True))}
               for thr, r in res.items()}
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        thrs = list(res)
        print(f"{'':<13}" + "".join(f"{'PCKh@' + format(t, 'g'):>10}" for t in thrs))
        for k in _ROWS:
            print(f"{k:<13}" + "".join(f"{res[t][k]:>10.2f}" for t in thrs))
    return 0
