"""``daec-viz bench``: decoder speed against numpy argmax and the reference loops."""

from __future__ import annotations

import argparse
import json

from tqdm import tqdm


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="time every decoder against numpy argmax",
                       description="Time every decoder (the paper's and the field's) on N "
                                   "realistic 17x64x48 float32 heatmaps against "
                                   "hm.reshape(N, K, -1).argmax(-1) on the same array, and "
                                   "the published code's per-map loops.")
    p.add_argument("--n", type=int, default=2000, help="instances (default 2000)")
    p.add_argument("--repeats", type=int, default=5, help="best of R runs (default 5)")
    p.add_argument("--ref-n", type=int, default=100,
                   help="instances for the slow reference loops (default 100; 0 skips them)")
    p.add_argument("--paper-only", action="store_true",
                   help="only the paper's decoders (standard, shifting, DARK, DAEC)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daec_viz.decoding.benchmark import ALL_CONFIGS, CONFIGS, format_table, run_benchmark
    from daec_viz.exceptions import InputError

    if args.n < 2 or args.repeats < 1 or args.ref_n < 0:
        raise InputError("expected --n >= 2, --repeats >= 1, --ref-n >= 0", field="bench")
    with tqdm(total=100, desc="bench", unit="%", disable=args.json, leave=False) as bar:
        def progress(frac: float, label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(int(frac * 100) - bar.n)

        result = run_benchmark(args.n, args.repeats, args.ref_n, progress=progress,
                               configs=CONFIGS if args.paper_only else ALL_CONFIGS)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
