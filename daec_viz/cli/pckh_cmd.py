"""``daec-viz pckh ANNOT.h5 PREDS``: PCKh@0.5 and @0.1 of MPII predictions (.mat or .h5)."""

from __future__ import annotations

import argparse
import json
import sys

from daec_viz.evaluation.pckh import MPII_JOINT_NAMES, PCKH_GROUPS, pckh
from daec_viz.exceptions import InputError
from daec_viz.io.mpii import PREDICTION_FORMATS, load_mpii_annotations, load_mpii_predictions

_ROWS = (*PCKH_GROUPS, "Mean", "MeanWeighted")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``pckh`` sub-command."""
    p = subparsers.add_parser(
        "pckh", help="MPII PCKh of a predictions file (.mat v5/v7.3, .h5)",
        description="PCKh of MPII predictions against an annotation .h5 (part, normalize). "
                    "Prediction files: " + ", ".join(PREDICTION_FORMATS) + " (told apart "
                    "by content), with an array `preds` of shape (N, 16, 2) or (2, 16, N) "
                    "in the annotations' pixel convention (MPII's 1-based px for valid.h5; "
                    "no offset is applied). Joints with missing ground truth (x <= 0 and "
                    "y <= 0) are left out; Mean is the unweighted mean over the 14 joints "
                    "other than pelvis and thorax.")
    p.add_argument("annot", metavar="ANNOT.h5", help="annotations (e.g. MPII valid.h5)")
    p.add_argument("preds", metavar="PREDS",
                   help="predictions: MATLAB .mat (v4-v7 or v7.3) or HDF5 .h5")
    p.add_argument("--field", default="preds",
                   help="variable / dataset holding the predictions (default: preds)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    annot = load_mpii_annotations(args.annot)
    preds = load_mpii_predictions(args.preds, field=args.field)
    if preds.shape != annot["part"].shape:
        raise InputError(f"expected {annot['part'].shape[0]} instances like {args.annot}, "
                         f"got {preds.shape[0]}", field=args.field, path=args.preds)
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
