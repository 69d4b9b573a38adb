"""Speed of every decoder against a plain numpy argmax, and against the reference loops.

Run:  python benchmarks/bench_decode.py [--n 2000] [--repeats 5] [--ref-n 100] [--json]
(the same as ``daec-viz bench``). See :mod:`daec_viz.decoding.benchmark` for what is measured.
"""

from __future__ import annotations

import sys

from daec_viz.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
