"""Options and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from daec_viz.decoding import ALL_METHODS, DEFAULT_BETA, PATTERNS, DecoderConfig

# A value that argparse would take for an option because it starts with '-': a negative
# number argparse's own rule misses (-1e3, -inf, -nan) or a range such as -2:4:0.5.
_NUMBER = r"(?:\d+\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?|inf|infinity|nan)"
_NEGATIVE_VALUE = re.compile(rf"-{_NUMBER}(?::-?{_NUMBER}){{0,2}}", re.IGNORECASE)
# what argparse itself already reads as a negative number (left as it is)
_ARGPARSE_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")


def join_negative_values(args: Sequence[str]) -> list[str]:
    """``--opt -2:4:0.5`` -> ``--opt=-2:4:0.5`` for values argparse would take for options.

    argparse reads a token that starts with ``-`` as an option unless it looks like
    ``-3`` or ``-0.5``; ``--deltas -2:4:0.5`` or ``--delta -1e3`` then fail with
    "expected one argument". Joining such a value to the option before it with ``=`` is
    argparse's own documented way to pass it. Tokens after ``--`` are left alone.

    >>> join_negative_values(["sweep", "d", "--deltas", "-2:4:0.5", "--delta", "-1"])
    ['sweep', 'd', '--deltas=-2:4:0.5', '--delta', '-1']
    """
    out: list[str] = []
    args = list(args)
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out += args[i:]
            break
        nxt = args[i + 1] if i + 1 < len(args) else None
        if (a.startswith("--") and len(a) > 2 and "=" not in a and nxt is not None
                and _NEGATIVE_VALUE.fullmatch(nxt) and not _ARGPARSE_NEGATIVE.match(nxt)):
            out.append(f"{a}={nxt}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


class DaecVizParser(argparse.ArgumentParser):
    """The CLI's parser: negative values and Δ ranges work without ``=``
    (:func:`join_negative_values`); sub-parsers are of this class too (argparse makes
    them with the parent's class)."""

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        if args is not None:
            args = join_negative_values(args)
        return super().parse_known_args(args, namespace)


def add_dataset_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DATASET",
                   help="dataset folder (annotations.json + heatmaps.h5/.npz), or 'demo' for "
                        "the bundled simulated demo (built on first use)")


def open_dataset(arg: str) -> Any:
    """Load the dataset folder ``arg``; ``demo`` means the bundled demo (built if needed)."""
    from daec_viz.io.datasets import load_dataset

    if arg == "demo" and not Path(arg).exists():
        from daec_viz.synthetic.demo import ensure_demo

        with tqdm(total=100, desc="building demo", unit="%", leave=False) as bar:
            path = ensure_demo(progress=lambda f, *_: bar.update(int(f * 100) - bar.n))
        return load_dataset(path)
    return load_dataset(arg)


def add_decode_options(p: argparse.ArgumentParser, method_required: bool = True) -> None:
    g = p.add_argument_group("decoder")
    g.add_argument("--method", choices=ALL_METHODS, required=method_required,
                   default=None if method_required else "daec")
    g.add_argument("--delta", type=float, default=None,
                   help="DAEC cut Δ in heatmap px (default int(σ + 2))")
    g.add_argument("--pattern", choices=PATTERNS, default="BR", help="DAEC cut corner")
    g.add_argument("--sigma", type=float, default=None,
                   help="DAEC window σ in heatmap px (default: the cache's σ)")
    g.add_argument("--blur-kernel", type=int, default=None,
                   help="Gaussian smoothing kernel (odd); DARK's default is 11")
    g.add_argument("--variant", choices=("sign", "second_max"), default="sign",
                   help="shifting variant")
    add_beta_option(g)


def add_beta_option(p: Any) -> None:
    """``--beta``: the integral decoders' softmax sharpness (a parser or argument group)."""
    p.add_argument("--beta", type=float, default=None,
                   help="integral / integral_debiased: softmax sharpness β per unit of "
                        f"heatmap value (default {DEFAULT_BETA:g}, Debias-IPR's)")


def decoder_config(args: argparse.Namespace, method: str | None = None) -> DecoderConfig:
    """The :class:`~daec_viz.decoding.DecoderConfig` chosen on the command line (not yet
    resolved: σ and Δ default to the dataset's, see
    :func:`daec_viz.evaluation.predict.resolve_config`)."""
    return DecoderConfig(method or args.method, sigma=getattr(args, "sigma", None),
                         delta=getattr(args, "delta", None),
                         pattern=getattr(args, "pattern", "BR"),
                         blur_kernel=getattr(args, "blur_kernel", None),
                         variant=getattr(args, "variant", "sign"),
                         beta=getattr(args, "beta", None))


class Progress:
    """A tqdm bar driven by ``progress(fraction, label)`` callbacks."""

    def __init__(self, desc: str, disable: bool = False) -> None:
        self.bar = tqdm(total=1000, desc=desc, disable=disable, leave=False,
                        bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")

    def __call__(self, fraction: float, label: str = "") -> None:
        self.bar.set_postfix_str(label, refresh=False)
        self.bar.update(max(0, int(fraction * 1000) - self.bar.n))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()


def print_stats(stats: dict[str, float], as_json: bool, extra: dict[str, Any] | None = None
                ) -> None:
    """Print the 10 COCO stats as a two-column table, or as JSON."""
    if as_json:
        print(json.dumps({**(extra or {}), "stats": stats}, indent=2))
        return
    for k, v in (extra or {}).items():
        print(f"{k:>10}  {v}")
    for k, v in stats.items():
        print(f"{k:>10}  {v:.4f}")
