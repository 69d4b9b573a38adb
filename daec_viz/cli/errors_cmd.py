"""``daec-viz errors DATASET``: where each decoder misses, and why.

Prints, per decoder: the quadrant counts and shares of the error vectors (image axes,
x right, y down; errors on an axis are counted as ``none``) and whether they follow the
paper's BR > UR > BL > UL, the mean bias (heatmap px) with its bootstrap interval, the
sub-pixel phase amplitude, and the Ronchi & Perona keypoint taxonomy with the AP after
correcting each error type. ``--json`` prints the full summary (per-joint bias, phase
curves, ...) of :meth:`daec_viz.analysis.ErrorAnalysis.to_dict`, and per decoder
``bias_sources``: its mean heatmap-px error split into flip test, target encoding,
convention, decoder and network (:mod:`daec_viz.analysis.bias_sources`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from daec_viz.analysis.taxonomy import ERROR_TYPES, TAXONOMY
from daec_viz.cli.common import Progress, add_beta_option, add_dataset_argument, open_dataset
from daec_viz.decoding import ALL_METHODS, PATTERNS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``errors`` sub-command."""
    p = sub.add_parser("errors", help="error-bias analysis: quadrants, bias, phase, taxonomy",
                       description="Decode every cached instance with each decoder and "
                                   "analyse its errors against the ground truth: quadrant "
                                   "histogram (BR/UR/BL/UL), mean bias with a bootstrap "
                                   "interval, sub-pixel phase, and the COCO keypoint error "
                                   "taxonomy (good/jitter/inversion/swap/miss) with the AP "
                                   "after correcting each error type.")
    add_dataset_argument(p)
    p.add_argument("--methods", nargs="+", choices=ALL_METHODS, default=list(ALL_METHODS),
                   metavar="METHOD", help=f"decoders (default: all of {', '.join(ALL_METHODS)})")
    p.add_argument("--delta", type=float, default=None,
                   help="DAEC cut Δ in heatmap px (default int(σ + 2))")
    p.add_argument("--pattern", choices=PATTERNS, default="BR", help="DAEC cut corner")
    add_beta_option(p)
    p.add_argument("--split", default=None, help="analyse one split only (e.g. test)")
    p.add_argument("--batch", type=int, default=256, help="instances per slice (default 256)")
    p.add_argument("--bootstrap", type=int, default=1000,
                   help="bootstrap replicates of the mean bias (default 1000)")
    p.add_argument("--ci", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-ap", action="store_true",
                   help="skip the AP recomputation with corrected error types")
    p.add_argument("--correction", choices=("gt", "ronchi"), default="gt",
                   help="how corrected keypoints are placed (default: on their own GT)")
    p.add_argument("--include-outside", action="store_true",
                   help="also analyse joints whose GT lies outside the heatmap")
    p.add_argument("--engine", choices=("hotcoco", "pycocotools"), default="hotcoco")
    p.add_argument("--json", action="store_true", help="print the full summary as JSON")
    p.set_defaults(func=run)


def _decode_options(args: argparse.Namespace) -> dict[str, Any]:
    daec: dict[str, Any] = {"pattern": args.pattern}
    if args.delta is not None:
        daec["delta"] = args.delta
    # shared: read by the integral decoders only (the others' configs drop it)
    return {"daec": daec, **({} if args.beta is None else {"beta": args.beta})}


def _fmt(v: Any, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def format_report(summary: dict[str, Any]) -> str:
    """Human-readable text of :meth:`ErrorAnalysis.to_dict`."""
    info = summary["info"]
    lines = [f"dataset    {info['dataset']}  ({info['num_instances']} instances, "
             f"K = {info['num_keypoints']}, {info['gt_boxes']} with GT boxes)",
             "quadrants  image axes (x right, y down); errors on an axis count as 'none' "
             "and are left out of the shares", ""]
    methods = summary["methods"]
    w = max([9, *map(len, methods)])  # the longest decoder name, e.g. integral_debiased
    lines.append(f"{'method':<{w}} {'n':>6}  " + "  ".join(f"{q:>12}" for q in
                                                         ("BR", "UR", "BL", "UL"))
                 + f"  {'none':>5}  BR>UR>BL>UL")
    for m, s in methods.items():
        q = s["quadrants"]
        cells = "  ".join(f"{q['counts'][k]:>5} {_fmt(q['shares'][k], '6.1%')}"
                          for k in ("BR", "UR", "BL", "UL"))
        lines.append(f"{m:<{w}} {s['analysed']:>6}  {cells}  {q['counts']['none']:>5}  "
                     f"{'yes' if q['follows_paper_order'] else 'no'}")
    lines += ["", f"{'method':<{w}} {'mean |e| hm':>11} {'bias x (hm px)':>24} "
                  f"{'bias y (hm px)':>24} {'quadrant':>8} {'phase amp x/y':>14}"]
    for m, s in methods.items():
        b = s["bias"]["hm"]["overall"]
        mx, my = b["mean"]
        lo, hi = b["lo"], b["hi"]
        amp = s["phase"]["amplitude"]
        lines.append(f"{m:<{w}} {_fmt(s['mean_error_hm']):>11} "
                     f"{_fmt(mx, '+.3f'):>7} [{_fmt(lo[0], '+.3f')}, {_fmt(hi[0], '+.3f')}] "
                     f"{_fmt(my, '+.3f'):>7} [{_fmt(lo[1], '+.3f')}, {_fmt(hi[1], '+.3f')}] "
                     f"{b['quadrant'] or '-':>8} {_fmt(amp[0], '.2f'):>6}/{_fmt(amp[1], '.2f')}")
    if any("taxonomy" in s for s in methods.values()):
        lines += ["", "taxonomy (Ronchi & Perona 2017): share of the labelled keypoints of "
                      "matched detections"]
        lines.append(f"{'method':<{w}} " + " ".join(f"{t:>9}" for t in TAXONOMY))
        for m, s in methods.items():
            t = s.get("taxonomy")
            if t:
                lines.append(f"{m:<{w}} " + " ".join(f"{_fmt(t['shares'][k], '9.1%')}"
                                                   for k in TAXONOMY))
        if any("ap" in s.get("taxonomy", {}) for s in methods.values()):
            lines += ["", f"AP with each error type corrected "
                          f"({info.get('correction') or 'gt'} placement)"]
            cols = ("original",) + ERROR_TYPES + ("all",)
            lines.append(f"{'method':<{w}} " + " ".join(f"{c:>9}" for c in cols))
            for m, s in methods.items():
                ap = s.get("taxonomy", {}).get("ap")
                if ap:
                    lines.append(f"{m:<{w}} " + " ".join(f"{ap[c]:9.4f}" for c in cols))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from daec_viz.analysis import analyse_errors
    from daec_viz.exceptions import InputError

    if args.batch < 1 or args.bootstrap < 1 or not 0 < args.ci < 1:
        raise InputError("expected --batch >= 1, --bootstrap >= 1 and 0 < --ci < 1",
                         field="errors")
    ds = open_dataset(args.dataset)
    if args.split:
        ds = ds.subset(args.split)
    with Progress("errors", disable=args.json) as bar:
        ea = analyse_errors(ds, methods=args.methods, decode_options=_decode_options(args),
                            batch=args.batch, n_boot=args.bootstrap, ci=args.ci,
                            seed=args.seed, ap=not args.no_ap, engine=args.engine,
                            correction=args.correction,
                            include_outside=args.include_outside, progress=bar)
    summary = ea.to_dict(per_joint=args.json)
    summary["info"]["split"] = args.split or "all"
    if args.json:
        from daec_viz.analysis.bias_sources import bias_sources
        from daec_viz.decoding import DecoderConfig

        cfgs = {m: DecoderConfig.from_dict(ea.info["configs"][m]) for m in ea.methods}
        for m, b in bias_sources(ds, ea.methods, cfgs, batch=args.batch).items():
            summary["methods"][m]["bias_sources"] = b.to_dict()
        print(json.dumps(summary, indent=2))
    else:
        print(format_report(summary))
    return 0
