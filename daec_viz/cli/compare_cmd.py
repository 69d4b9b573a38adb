"""``daec-viz compare``: DAEC against the best baseline, with paired bootstrap intervals."""

from __future__ import annotations

import argparse
import json
import math

from daec_viz.cli.common import Progress, add_beta_option, add_dataset_argument, open_dataset
from daec_viz.decoding import PATTERNS, DecoderConfig
from daec_viz.evaluation.sweep import BASELINES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="DAEC vs every baseline with 95 %% intervals and a "
                                       "verdict (better / worse / no detectable difference)",
                       description="Score DAEC and every other decoder (standard, shifting, "
                                   "DARK, DARK-UDP, gauss3, integral, integral_debiased; each "
                                   "with and without smoothing where it has a blur option) on "
                                   "one split, bootstrap every AP over images (paired), and "
                                   "call DAEC minus the best baseline.")
    add_dataset_argument(p)
    p.add_argument("--split", default=None,
                   help="split to score (default: test when the dataset has one, else all)")
    p.add_argument("--delta", type=float, default=None,
                   help="DAEC cut Δ in heatmap px (default int(σ + 2))")
    p.add_argument("--pattern", choices=PATTERNS, default="BR", help="DAEC cut corner")
    p.add_argument("--sigma", type=float, default=None,
                   help="DAEC window σ in heatmap px (default: the cache's σ)")
    p.add_argument("--smooth", action="store_true", help="blur the maps before DAEC")
    p.add_argument("--baselines", nargs="+", choices=BASELINES, default=list(BASELINES),
                   metavar="METHOD", help="decoders DAEC is held against, each with its "
                   f"variants (default: all of {', '.join(BASELINES)})")
    add_beta_option(p)
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--ci", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--no-joints", action="store_true", help="skip per-joint AP")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _ci(v: list) -> str:
    lo, hi = v
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "[   -   ,    -   ]"
    return f"[{lo:.4f}, {hi:.4f}]"


def format_report(d: dict) -> str:
    """The readable table of ``daec-viz compare``."""
    lines = [f"split {d['split']!r}: {d['n_persons']} persons, {d['n_images']} images; "
             f"{d['n_boot']} paired bootstrap replicates over images (seed {d['seed']})", ""]
    nw = max([16, *map(len, d["methods"])])  # e.g. integral_debiased
    lines.append(f"{'decoder':<{nw}} {'AP':>7}  {'95 % interval':<18}  config")
    for name, m in d["methods"].items():
        mark = " <- best baseline" if name == d["best_baseline"] else ""
        cfg = ", ".join(f"{k}={v}" for k, v in m["config"].items() if k != "method"
                        and v is not None)
        lines.append(f"{name:<{nw}} {m['AP']:7.4f}  {_ci(m['AP_ci']):<18}  {cfg}{mark}")
    v = d["verdict"]
    lo, hi = v["diff_ci"]
    lines += ["", f"verdict: DAEC − {v['baseline']} = {v['diff']:+.4f} AP, "
                  f"{int(v['ci'] * 100)} % interval [{lo:+.4f}, {hi:+.4f}] -> {v['call']}"
              if lo is not None and hi is not None else
              f"verdict: {v['call']} (interval undefined)"]
    joints = d["methods"]["daec"]["per_joint_AP"]
    if joints:
        names = list(d["methods"])
        lines += ["", "per-joint AP (OKS of that joint alone); * = best per row",
                  f"{'joint':<16} " + " ".join(f"{n:>{max(15, len(n))}}" for n in names)]
        for j in joints:
            vals = [d["methods"][n]["per_joint_AP"][j] for n in names]
            best = max(vals)
            lines.append(f"{j:<16} " + " ".join(
                f"{v:{max(15, len(n)) - 1}.4f}{'*' if v == best and v >= 0 else ' '}"
                for n, v in zip(names, vals, strict=True)))
    for w in d["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from daec_viz.decoding import DEFAULT_BLUR_KERNEL
    from daec_viz.evaluation.compare import baseline_configs, compare
    from daec_viz.evaluation.splits import report_split
    from daec_viz.exceptions import InputError

    if args.bootstrap < 1 or not 0 < args.ci < 1:
        raise InputError("expected --bootstrap >= 1 and 0 < --ci < 1", field="--bootstrap")
    ds = open_dataset(args.dataset)
    split = args.split or report_split(ds)
    cfg = DecoderConfig("daec", sigma=args.sigma, delta=args.delta, pattern=args.pattern,
                        blur_kernel=DEFAULT_BLUR_KERNEL if args.smooth else None)
    with Progress("compare", disable=args.json) as bar:
        result = compare(ds, cfg, split=split,
                         baselines=baseline_configs(beta=args.beta, methods=args.baselines),
                         n_boot=args.bootstrap, seed=args.seed,
                         ci=args.ci, joints=not args.no_joints, progress=bar)
    d = result.to_dict()
    d["dataset"] = str(ds.path)
    if args.json:
        print(json.dumps(d, indent=2))
    else:
        print(format_report(d))
    return 0
