"""``daec-viz sweep``: AP-vs-Δ curves for every cut pattern, with and without smoothing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from daec_viz.cli.common import Progress, add_beta_option, open_dataset
from daec_viz.decoding import DEFAULT_BLUR_KERNEL, PATTERNS
from daec_viz.evaluation.coco_eval import ENGINES
from daec_viz.evaluation.sweep import BASELINES
from daec_viz.exceptions import InputError
from daec_viz.io.atomic import atomic_write


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="AP vs Δ for DAEC (all patterns, smoothing off/on) "
                                     "plus every other decoder; learns Δ_opt on train",
                       description="Sweep DAEC's Δ on every split and write a tidy table "
                                   "(method, pattern, smooth, delta, split, 10 COCO stats).")
    p.add_argument("dataset", nargs="+", metavar="DATASET",
                   help="dataset folder(s) (annotations.json + heatmaps.h5/.npz), or 'demo' "
                        "for the bundled simulated demo; several: each is swept and "
                        "reported in turn, tables written to OUT-<folder name>")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="decode on a Dask cluster: the scheduler's address, e.g. "
                        "tcp://10.0.0.5:8786 (default $DAEC_VIZ_SCHEDULER; unset: decode "
                        "here). Workers open the datasets from the same paths")
    p.add_argument("--deltas", default=None,
                   help="Δ grid A:B:STEP in heatmap px (default -2:σ+6:0.5)")
    p.add_argument("--patterns", nargs="+", default=list(PATTERNS), choices=PATTERNS,
                   help="DAEC cut corners to sweep (default all four)")
    p.add_argument("--smooth", choices=("both", "off", "on"), default="both",
                   help="DAEC and baselines with and/or without Gaussian smoothing")
    p.add_argument("--baselines", nargs="+", choices=BASELINES, default=list(BASELINES),
                   metavar="METHOD", help="reference decoders, each with and without "
                   f"smoothing where it has a blur option (default: all of "
                   f"{', '.join(BASELINES)})")
    add_beta_option(p)
    p.add_argument("--blur-kernel", type=int, default=DEFAULT_BLUR_KERNEL,
                   help=f"smoothing kernel (odd, default {DEFAULT_BLUR_KERNEL})")
    p.add_argument("--engine", choices=ENGINES, default="hotcoco",
                   help="COCO evaluator: hotcoco (fast) or pycocotools (reference)")
    p.add_argument("--out", required=True, help="output table, .csv or .json")
    p.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap replicates for how often each Δ wins on train "
                        "(default 1000; 0 = skip: it re-matches every Δ once)")
    p.add_argument("--json", action="store_true", help="print the learned Δ as JSON")
    p.set_defaults(func=run)


def _outputs(out: Path, datasets: list[str]) -> list[Path]:
    """The table of each dataset: ``out`` for one; ``<stem>-<folder name><suffix>`` for
    several (plus the position when two folders share a name)."""
    if len(datasets) == 1:
        return [out]
    names = [Path(d).resolve().name or "dataset" for d in datasets]
    return [out.with_name(f"{out.stem}-{name}"
                          f"{f'-{i + 1}' if names.count(name) > 1 else ''}{out.suffix}")
            for i, name in enumerate(names)]


def run(args: argparse.Namespace) -> int:
    from daec_viz.evaluation.distributed import cluster_decoder, connect, scheduler_address

    out = Path(args.out)
    if out.suffix not in (".csv", ".json"):
        raise InputError(f"expected a .csv or .json file name, got {out.name!r}", field="--out")
    if out.is_dir():
        raise InputError("is a folder; expected a file name", field="--out", path=out)
    if args.bootstrap < 0:
        raise InputError(f"expected --bootstrap >= 0, got {args.bootstrap}", field="--bootstrap")
    datasets = list(args.dataset)
    outs = _outputs(out, datasets)
    address = scheduler_address(args.scheduler)
    client = None if address is None else connect(address)
    try:
        decoder = None if client is None else cluster_decoder(client)
        reports = []
        for i, (dataset, table) in enumerate(zip(datasets, outs, strict=True)):
            if len(datasets) > 1 and not args.json:
                print(("\n" if i else "") + f"== {dataset} ==")
            reports.append(_run_one(args, dataset, table, decoder))
    finally:
        if client is not None:
            client.close()
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
    return 0


def _run_one(args: argparse.Namespace, dataset: str, out: Path, decoder: object
             ) -> dict:
    """Sweep one dataset into ``out``; print its summary (unless ``--json``) and return
    its JSON report."""
    from daec_viz.evaluation.predict import resolve_config
    from daec_viz.evaluation.splits import learn_splits
    from daec_viz.evaluation.sweep import choose_delta, default_configs, parse_deltas, run_sweep

    ds = open_dataset(dataset)
    sigma = float(ds.meta.sigma)
    deltas = None if args.deltas is None else parse_deltas(args.deltas, sigma)
    smooth = {"both": (False, True), "off": (False,), "on": (True,)}[args.smooth]
    configs = default_configs(sigma, deltas, args.patterns, smooth, args.baselines,
                              blur_kernel=args.blur_kernel, beta=args.beta)
    try:
        train, test, in_sample = learn_splits(ds)
    except InputError:  # other split names: learn and report on every instance
        train, test, in_sample = "all", "all", True
    with Progress("sweep", disable=args.json) as bar:
        df = run_sweep(ds, configs, splits=sorted({train, test}), engine=args.engine,
                       progress=bar, use_cache=not args.no_cache, decoder=decoder)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as fh:  # an interrupted run never leaves a half table
        if out.suffix == ".csv":
            df.to_csv(fh, index=False)
        else:
            fh.write(df.to_json(orient="records", indent=1))
    choices = [choose_delta(df, p, s, train=train, test=test).to_dict()
               for s in smooth for p in args.patterns]
    if args.bootstrap:
        from daec_viz.evaluation.delta_uncertainty import delta_uncertainty
        grid = sorted(set(df.loc[df["method"] == "daec", "delta"].tolist()))
        with Progress("Δ_opt bootstrap", disable=args.json) as bar:
            for i, c in enumerate(choices):
                u = delta_uncertainty(ds, c["pattern"], c["smooth"], grid, split=train,
                                      n_boot=args.bootstrap, progress=lambda f, lab, i=i:
                                      bar((i + f) / len(choices), lab))
                c["uncertainty"] = u.to_dict()
                c["uncertainty_line"] = u.line()
    report = {"out": str(out), "rows": len(df), "dataset": str(ds.path),
              "sigma": sigma, "blur_kernel": args.blur_kernel,
              "train": train, "test": test, "in_sample": in_sample,
              "configs": [resolve_config(ds, c).to_dict() for c in configs],
              "learned": choices}
    if args.json:
        return report
    print(f"wrote {len(df)} rows to {out}")
    print(f"Δ_opt learned on {train!r}, AP on {test!r}:")
    for c in choices:
        gains = ", ".join(f"{m} {g:+.4f}" for m, g in c["gains"].items())
        sm = "smoothed" if c["smooth"] else "raw"
        print(f"  {c['pattern']} {sm:>8}: Δ_opt = {c['delta']:g}  AP {c['test_value']:.4f}"
              f"  (gain vs {gains})")
        if "uncertainty_line" in c:
            print(f"  {'':>11}  on resampled {train!r} images: {c['uncertainty_line']}")
    if in_sample:
        print("warning: no train/test split: Δ_opt is learned and reported on the same "
              "data (the gain is optimistic)")
    return report
