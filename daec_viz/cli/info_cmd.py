"""``daec-viz info DATASET [--json]``: what a dataset folder holds.

Validates the folder like every other command (a bad folder exits non-zero with one line
naming the file and the field) and prints the instance count, images, K, heatmap size,
dtype, sigma, convention, model, splits, the simulated flag and the provenance. With
``--scan`` it also streams the heatmaps and reports maps holding NaN/Inf (the decoders
mark them invalid).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from daec_viz.cli.common import open_dataset

if TYPE_CHECKING:  # the CLI imports pandas/pycocotools only when a command runs
    from daec_viz.io.datasets import Dataset


def register(subparsers: Any) -> None:
    """Add the ``info`` sub-command."""
    p = subparsers.add_parser(
        "info", help="summarise a dataset folder (annotations + heatmap cache)",
        description="Validate a dataset folder and print what it holds.")
    p.add_argument("dataset", metavar="DATASET",
                   help="folder with annotations.json and heatmaps.h5 or heatmaps.npz")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--scan", action="store_true",
                   help="also stream every heatmap and report maps holding NaN/Inf "
                        "(reads the whole cache)")
    p.set_defaults(func=run)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def format_summary(s: dict[str, Any]) -> str:
    """The human-readable text of a :meth:`Dataset.summary` dict."""
    c = s["cache"]
    w, h = s["heatmap_size"]
    iw, ih = s["input_size"]
    comp = f", {c['compression']}" if c["compression"] else ""
    splits = ", ".join(f"{k} {v}" for k, v in s["splits"].items())
    lines = [
        f"dataset      {s['path']}",
        f"cache        {c['file']} ({c['format']}, {c['dtype']}{comp}, "
        f"{c['size_bytes'] / 1e6:.1f} MB, schema v{c['schema_version']})",
        f"instances    {s['num_instances']} on {s['num_images']} images "
        f"({s['gt_boxes']} with ground-truth boxes)",
        f"annotations  {s['annotations']['file']}: {s['annotations']['images']} images, "
        f"{s['annotations']['annotations']} annotations",
        f"keypoints    K = {s['num_keypoints']}: {', '.join(s['keypoint_names'])}",
        f"heatmaps     {w} x {h} (W x H) from input {iw} x {ih}, sigma {s['sigma']:g}, "
        f"{s['heatmap_kind']}",
        f"convention   {s['convention']}" + (" (per-instance affines stored)"
                                             if s["has_affines"] else ""),
        f"model        {s['model'] or '(unnamed)'}; flip test {_yes(s['flip_test'])}"
        + (f" ({s['flip_mode']})" if s["flip_mode"] not in ("none", "unknown") else "")
        + f"; pipeline {s['pipeline']}; simulated {_yes(s['simulated'])}",
        f"splits       {splits}",
        f"images       {s['images_dir'] or 'none (overlays off)'}",
        f"content hash {s['content_hash'][:16]}",
    ]
    if s["provenance"]:
        lines.append("provenance")
        lines += [f"  {k}: {json.dumps(v) if not isinstance(v, str) else v}"
                  for k, v in s["provenance"].items()]
    if "nonfinite" in s:
        nf = s["nonfinite"]
        joints = ", ".join(f"{k} {v}" for k, v in nf["by_joint"].items())
        lines.append("non-finite   " + (f"{nf['maps']} maps in {nf['instances']} instances "
                                        f"hold NaN/Inf, decoded as invalid ({joints})"
                                        if nf["maps"] else "none (every value is finite)"))
    lines += [f"warning: {msg}" for msg in s["warnings"]]
    return "\n".join(lines)


def nonfinite_summary(ds: Dataset) -> dict[str, Any]:
    """Stream the cache (progress bar on stderr) and count the (instance, joint) maps that
    hold NaN/Inf: ``{"maps", "instances", "by_joint": {name: maps}}``."""
    from daec_viz.io.scan import scan_nonfinite

    df = scan_nonfinite(ds, progress=True)
    by_joint = df["joint_name"].value_counts(sort=False)
    return {"maps": len(df), "instances": int(df["row"].nunique()),
            "by_joint": {str(k): int(v) for k, v in by_joint.items()}}


def run(args: argparse.Namespace) -> int:
    """Load the dataset and print its summary; errors propagate as DatasetError."""
    with open_dataset(args.dataset) as ds:
        summary = ds.summary()
        if args.scan:
            summary["nonfinite"] = nonfinite_summary(ds)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_summary(summary))
    return 0
