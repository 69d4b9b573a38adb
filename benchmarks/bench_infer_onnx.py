"""Speed of ``daec-viz infer --model FILE.onnx`` on coco-mini's 118 detector boxes.

The model is generated here with onnx's helper API: an HRNet-W32-sized fully
convolutional net (random weights; input 1x3x256x192 NCHW with a dynamic batch, two
stride-2 stems to 64x48, ``--blocks`` 3x3 conv + ReLU layers of 64 channels, a 1x1 head
to 17 channels). With the default 24 blocks it costs ~5.7 GFLOPs per box (HRNet-W32
256x192: 7.1 GFLOPs). Its heatmaps mean nothing; the timing covers the whole run: reading
images, cropping, normalising, onnxruntime on CPU, the flip test, writing the cache.

Run (needs ../shared/data/coco-mini, see its README)::

    python benchmarks/bench_infer_onnx.py [--blocks 24] [--batch 16] [--threads N]

Prints boxes/s for each flip mode and the network's own time per box.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-mini"


def build_model(path: Path, blocks: int, width: int = 64, k: int = 17, seed: int = 0) -> float:
    """Write the generated net; returns its GFLOPs per 256x192 box (2 x MACs)."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    inits, nodes = [], []
    macs = 0.0

    def conv(x: str, cin: int, cout: int, kernel: int, stride: int, hw: tuple[int, int],
             relu: bool = True) -> str:
        nonlocal macs
        i = len(nodes)
        w = (rng.standard_normal((cout, cin, kernel, kernel)) / np.sqrt(cin * kernel ** 2)
             ).astype(np.float32)
        inits.append(helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape, w.ravel()))
        inits.append(helper.make_tensor(f"b{i}", TensorProto.FLOAT, [cout],
                                        np.zeros(cout, np.float32)))
        pad = kernel // 2
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"],
                                      kernel_shape=[kernel, kernel], strides=[stride, stride],
                                      pads=[pad] * 4))
        macs += cin * cout * kernel ** 2 * hw[0] * hw[1]
        if not relu:
            return f"c{i}"
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        return f"r{i}"

    x = conv("input", 3, 32, 3, 2, (128, 96))
    x = conv(x, 32, width, 3, 2, (64, 48))
    for _ in range(blocks):
        x = conv(x, width, width, 3, 1, (64, 48))
    x = conv(x, width, k, 1, 1, (64, 48), relu=False)
    nodes.append(helper.make_node("Identity", [x], ["heatmaps"]))
    graph = helper.make_graph(
        nodes, "hrnet_sized",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 256, 192])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, ["N", k, 64, 48])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return 2 * macs / 1e9


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=24)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if not (DATA / "person_detections.json").is_file():
        print(f"needs {DATA} (see ../shared/data/README.md)", file=sys.stderr)
        return 1
    from daec_viz.realnet.heatmap_model import HeatmapModel, TopDownOptions
    from daec_viz.realnet.infer import run_inference

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "hrnet_sized.onnx"
        gflops = build_model(model, args.blocks)
        opts = TopDownOptions(num_threads=args.threads)
        net = HeatmapModel(model, opts)
        crops = np.random.default_rng(1).uniform(0, 255, (args.batch, 256, 192, 3))
        net.heatmaps(crops)  # warm-up
        t0 = time.perf_counter()
        reps = 3
        for _ in range(reps):
            net.heatmaps(crops)
        per_box = (time.perf_counter() - t0) / (reps * args.batch)
        print(f"model: {gflops:.2f} GFLOPs per box, {model.stat().st_size / 2**20:.1f} MiB, "
              f"{net.runtime}; network alone {per_box * 1e3:.1f} ms/box "
              f"({1 / per_box:.1f} boxes/s) at batch {args.batch}")
        for flip in ("none", "shift"):
            s = run_inference(DATA / "images", DATA / "person_keypoints.json",
                              Path(tmp) / f"out_{flip}", model_path=model,
                              model_options=opts, detections=DATA / "person_detections.json",
                              batch_size=args.batch, flip_test=flip, progress=False)
            print(f"flip test {flip:5s}: {s.num_instances} detector boxes in {s.seconds:.2f} s "
                  f"= {s.num_instances / s.seconds:.1f} boxes/s (whole run, model loading "
                  f"included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
