"""Speed of every decoder against a plain numpy argmax, and against the reference loops.

Run:  python benchmarks/bench_decode.py [--n 2000] [--repeats 5] [--ref-n 100] [--json]
      [--paper-only]

Times the paper's decoders and the field's (DARK-UDP, gauss3, integral, integral_debiased)
in one run, each as a ratio to ``hm.reshape(N, K, -1).argmax(-1)`` on the same array.
``--paper-only`` times the paper's decoders alone (as ``daec-viz bench --paper-only``;
``daec-viz bench`` times them all, as this script).
See :mod:`daec_viz.decoding.benchmark` for what is measured.
"""

from __future__ import annotations

import argparse
import json
import sys

from daec_viz.decoding.benchmark import ALL_CONFIGS, CONFIGS, format_table, run_benchmark


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000, help="instances (default 2000)")
    p.add_argument("--repeats", type=int, default=5, help="best of R runs (default 5)")
    p.add_argument("--ref-n", type=int, default=100,
                   help="instances for the slow reference loops (default 100; 0 skips them)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--paper-only", action="store_true",
                   help="only the paper's decoders (as daec-viz bench --paper-only)")
    args = p.parse_args(argv)
    if args.n < 2 or args.repeats < 1 or args.ref_n < 0:
        p.error("expected --n >= 2, --repeats >= 1, --ref-n >= 0")
    configs = CONFIGS if args.paper_only else ALL_CONFIGS
    result = run_benchmark(args.n, args.repeats, args.ref_n, configs=configs)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
