"""``daec-viz infer --model FILE.onnx``: the generic top-down runner against known answers.

The model is a real ONNX graph built here with onnx's helper API: a "renderer" network
whose channel k is the colour match ``exp(-|x - c_k|² / τ)`` of the input with joint k's
colour, resized to the heatmap grid with ONNX ``Resize`` (linear). Its coordinate mode is
the convention's label mapping: ``asymmetric`` samples input px ``s·p`` (hrnet),
``align_corners`` samples ``p (w-1)/(W-1)`` (dark, udp). An image with a colour blob at
image px X therefore gives a heatmap whose peak sits exactly where the convention puts
X. People are rendered with their joints at image points that map to integer heatmap px
through the convention's formula (written out here, independently of geometry.py), so
the argmax decoder recovers them exactly: AP = 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402
from PIL import Image  # noqa: E402

from daec_viz.cli import main  # noqa: E402
from daec_viz.evaluation.oks import COCO_OKS_SIGMAS  # noqa: E402
from daec_viz.evaluation.scoring import evaluate  # noqa: E402
from daec_viz.exceptions import InputError  # noqa: E402
from daec_viz.geometry import box_to_center_scale  # noqa: E402
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES, make_coco_annotations  # noqa: E402
from daec_viz.io.datasets import load_dataset  # noqa: E402
from daec_viz.realnet.heatmap_model import (  # noqa: E402
    IMAGENET_MEAN,
    IMAGENET_STD,
    HeatmapModel,
    TopDownOptions,
)
from daec_viz.realnet.infer import run_inference  # noqa: E402

IN_W, IN_H, STRIDE = 96, 128, 4
HM_W, HM_H = IN_W // STRIDE, IN_H // STRIDE
#: 17 colours with a 255 component (no two on one ray from black, the background)
PALETTE = np.array([c for c in np.stack(np.meshgrid(*[[0, 128, 255]] * 3, indexing="ij"),
                                        -1).reshape(-1, 3) if c.max() == 255][:17], float)
MODE = {"hrnet": "asymmetric", "dark": "align_corners", "udp": "align_corners"}
MPII_NAMES = ["r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
              "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder",
              "l_elbow", "l_wrist"]
MPII_TO_COCO = {0: "right_ankle", 1: "right_knee", 2: "right_hip", 3: "left_hip",
                4: "left_knee", 5: "left_ankle", 10: "right_wrist", 11: "right_elbow",
                12: "right_shoulder", 13: "left_shoulder", 14: "left_elbow", 15: "left_wrist"}


# --------------------------------------------------------------------------- the network

def renderer(path: Path, colours: np.ndarray, *, mode: str = "align_corners",
             layout: str = "NCHW", batch: int | str = "N", spatial: str = "static",
             mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr: bool = False, tau: float = 2000.0,
             head: str = "heatmap") -> Path:
    """Write the renderer network (module docstring) as an ONNX file.

    head: ``heatmap`` (one output), ``regression`` ((N, K) maxima), ``two`` (two 4-D
    outputs), ``transposed`` ((N, K, W, H)).
    """
    k = len(colours)
    cols = np.asarray(colours, np.float32)[:, ::-1] if bgr else np.asarray(colours, np.float32)
    m = np.asarray(mean, np.float32)[::-1] if bgr else np.asarray(mean, np.float32)
    s = np.asarray(std, np.float32)[::-1] if bgr else np.asarray(std, np.float32)
    h, w = ("H", "W") if spatial == "dynamic" else (IN_H, IN_W)
    shape = [batch, 3, h, w] if layout == "NCHW" else [batch, h, w, 3]
    inits = [helper.make_tensor(n, TensorProto.FLOAT, v.shape, v.reshape(-1).tolist())
             for n, v in (("std", s.reshape(1, 3, 1, 1)), ("mean", m.reshape(1, 3, 1, 1)),
                          ("colours", cols.reshape(1, k, 3, 1, 1)),
                          ("neg_inv_tau", np.array([-1.0 / tau], np.float32)),
                          ("scales", np.array([1, 1, 1 / STRIDE, 1 / STRIDE], np.float32)))]
    inits += [helper.make_tensor("ax1", TensorProto.INT64, [1], [1]),
              helper.make_tensor("ax2", TensorProto.INT64, [1], [2])]
    nodes = []
    x = "input"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", [x], ["x_nchw"], perm=[0, 3, 1, 2]))
        x = "x_nchw"
    nodes += [
        helper.make_node("Mul", [x, "std"], ["x_std"]),
        helper.make_node("Add", ["x_std", "mean"], ["x_px"]),       # back to 0..255
        helper.make_node("Unsqueeze", ["x_px", "ax1"], ["x5"]),     # (N, 1, 3, h, w)
        helper.make_node("Sub", ["x5", "colours"], ["diff"]),      # (N, K, 3, h, w)
        helper.make_node("Mul", ["diff", "diff"], ["sq"]),
        helper.make_node("ReduceSum", ["sq", "ax2"], ["d2"], keepdims=0),
        helper.make_node("Mul", ["d2", "neg_inv_tau"], ["logit"]),
        helper.make_node("Exp", ["logit"], ["match"]),              # (N, K, h, w)
        helper.make_node("Resize", ["match", "", "scales"], ["hm_nchw"], mode="linear",
                         coordinate_transformation_mode=mode),
    ]
    out_shape = [batch, k, HM_H if spatial == "static" else "Hh",
                 HM_W if spatial == "static" else "Wh"]
    outputs = []
    if head == "regression":
        nodes.append(helper.make_node("ReduceMax", ["hm_nchw"], ["heatmaps"], axes=[2, 3],
                                      keepdims=0))
        out_shape = [batch, k]
    elif head == "transposed":
        nodes.append(helper.make_node("Transpose", ["hm_nchw"], ["heatmaps"],
                                      perm=[0, 1, 3, 2]))
        out_shape = [batch, k, out_shape[3], out_shape[2]]
    elif layout == "NHWC":
        nodes.append(helper.make_node("Transpose", ["hm_nchw"], ["heatmaps"],
                                      perm=[0, 2, 3, 1]))
        out_shape = [batch, out_shape[2], out_shape[3], k]
    else:
        nodes.append(helper.make_node("Identity", ["hm_nchw"], ["heatmaps"]))
    outputs.append(helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, out_shape))
    if head == "two":
        nodes.append(helper.make_node("Neg", ["hm_nchw"], ["other"]))
        outputs.append(helper.make_tensor_value_info("other", TensorProto.FLOAT, out_shape))
    graph = helper.make_graph(nodes, "renderer",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                             shape)], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


# --------------------------------------------------------------------------- the people

def convention_to_image(q: np.ndarray, center: np.ndarray, scale: np.ndarray,
                        convention: str) -> np.ndarray:
    """Heatmap px (K, 2) -> image px by the README's table (written out, not geometry.py)."""
    S = 200.0 * scale
    hm = np.array([HM_W, HM_H], float)
    if convention == "dark":
        return center + (q - (hm - 1) / 2) * (S - 1) / (hm - 1)
    if convention == "hrnet":
        return center + (q - hm / 2) * S / hm
    return q * S / (hm - 1) + center - S / 2  # udp


def render(size: tuple[int, int], blobs: list[tuple[np.ndarray, np.ndarray]],
           sigma: float = 2.0) -> np.ndarray:
    """(h, w, 3) uint8: black, with a Gaussian-profile colour blob at each (xy, colour);
    where blobs meet, the stronger one wins."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    best = np.zeros((h, w))
    img = np.zeros((h, w, 3))
    for xy, colour in blobs:
        g = np.exp(-((xx - xy[0]) ** 2 + (yy - xy[1]) ** 2) / (2 * sigma ** 2))
        win = g > best
        img[win] = g[win, None] * colour
        best = np.maximum(best, g)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


PEOPLE = [  # (image id, bbox x, y, w, h)
    (1, (20.0, 15.0, 90.0, 150.0)), (1, (150.0, 30.0, 100.0, 140.0)),
    (2, (40.0, 20.0, 120.0, 160.0)),
]


def people_folder(tmp: Path, convention: str, seed: int = 0, spacing: int = 4,
                  keypoints: int = 17, margin: int = 2) -> tuple[Path, Path, dict]:
    """Images + COCO annotations of PEOPLE, joints at integer heatmap px (>= ``spacing``
    apart, >= ``margin`` px inside the map's first and last pixels) mapped to
    image px by ``convention``. Returns (images, annotations, truth) with
    truth[ann_id] = (q (K, 2) heatmap px, xy (K, 2) image px)."""
    rng = np.random.default_rng(seed)
    images = tmp / "imgs"
    images.mkdir(exist_ok=True)
    slots = [(x, y) for x in range(margin, HM_W - margin, spacing)
             for y in range(margin, HM_H - margin, spacing)]
    anns, truth, blobs = [], {}, {1: [], 2: []}
    for ann_id, (iid, box) in enumerate(PEOPLE, start=1):
        c, s = box_to_center_scale(np.array([box]), IN_W / IN_H, 1.25)
        q = np.array([slots[i] for i in rng.choice(len(slots), keypoints, replace=False)],
                     float)
        xy = convention_to_image(q, c[0], s[0], convention)
        truth[ann_id] = (q, xy)
        blobs[iid] += [(p, PALETTE[k]) for k, p in enumerate(xy)]
        kp = np.concatenate([xy, np.full((keypoints, 1), 2.0)], 1)
        anns.append({"id": ann_id, "image_id": iid, "keypoints": kp,
                     "bbox": list(box), "area": box[2] * box[3]})
    imgs = []
    for iid, (w, h) in ((1, (280, 200)), (2, (200, 200))):
        Image.fromarray(render((w, h), blobs[iid])).save(images / f"{iid}.png")
        imgs.append({"id": iid, "file_name": f"{iid}.png", "width": w, "height": h})
    ann_path = tmp / "ann.json"
    ann_path.write_text(json.dumps(make_coco_annotations(imgs, anns)))
    return images, ann_path, truth


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def _run(images, ann, out, model, **kw):
    kw.setdefault("progress", False)
    return run_inference(images, ann, out, model_path=model, **kw)


def _decode_standard(ds) -> tuple[np.ndarray, np.ndarray]:
    from daec_viz.evaluation.predict import predict
    p = predict(ds, "standard")
    return p.coords_hm, p.coords_img


# --------------------------------------------------------------------------- geometry

@pytest.mark.parametrize("convention", ["hrnet", "dark", "udp"])
def test_peaks_come_back_exactly_through_each_convention(tmp_path, model_dir, convention):
    images, ann, truth = people_folder(tmp_path, convention)
    model = renderer(model_dir / f"r_{convention}.onnx", PALETTE, mode=MODE[convention])
    s = _run(images, ann, tmp_path / "out", model,
             model_options=TopDownOptions(convention=convention, sigma=1.5, pipeline="dark"
                                          if convention == "dark" else "unknown"))
    assert s.num_instances == 3 and s.computed == 3 and s.skipped == ()
    ds = load_dataset(tmp_path / "out")
    assert ds.meta.convention == convention and ds.meta.input_size == (IN_W, IN_H)
    assert ds.meta.heatmap_size == (HM_W, HM_H) and ds.meta.sigma == 1.5
    assert ds.meta.flip_mode == "none" and ds.meta.heatmap_kind == "heatmap"
    prov = ds.meta.provenance
    assert prov["layout"] == "NCHW" and prov["crop"]["normalisation"]["mean_rgb"] == list(
        IMAGENET_MEAN)
    hm, img = _decode_standard(ds)
    for row, ann_id in enumerate(ds.instances["ann_id"]):
        q, xy = truth[int(ann_id)]
        np.testing.assert_array_equal(hm[row], q)
        np.testing.assert_allclose(img[row], xy, atol=1e-9)
    # the stored centre/scale give the same mapping as the stored affines
    from daec_viz.geometry import heatmap_to_image_affine
    df = ds.instances
    ref = heatmap_to_image_affine(df[["center_x", "center_y"]].to_numpy(),
                                  df[["scale_x", "scale_y"]].to_numpy(), (HM_W, HM_H),
                                  convention)
    np.testing.assert_allclose(ds.affines(), ref, atol=1e-9)
    assert evaluate(ds, "standard")["AP"] == pytest.approx(1.0)
    assert evaluate(ds, "dark")["AP"] == pytest.approx(1.0)
    ds.close()


def test_wrong_convention_misses(tmp_path, model_dir):
    """Known answer's sensitivity: the udp network decoded as hrnet lands elsewhere."""
    images, ann, truth = people_folder(tmp_path, "udp")
    model = renderer(model_dir / "r_udp2.onnx", PALETTE, mode=MODE["udp"])
    _run(images, ann, tmp_path / "out", model, model_options=TopDownOptions(convention="hrnet"))
    ds = load_dataset(tmp_path / "out")
    _, img = _decode_standard(ds)
    err = np.abs(img[0] - truth[int(ds.instances["ann_id"][0])][1]).max()
    assert err > 1.0
    ds.close()


# --------------------------------------------------------------------------- layouts

def test_nhwc_bgr_dynamic_and_fixed_batch_give_the_same_maps(tmp_path, model_dir):
    images, ann, _ = people_folder(tmp_path, "dark")
    opts = TopDownOptions(convention="dark")
    ref = _run(images, ann, tmp_path / "ref", renderer(model_dir / "a.onnx", PALETTE),
               model_options=opts, batch_size=2)
    base = load_dataset(ref.path).heatmaps[:]
    cases = {
        "nhwc": (renderer(model_dir / "nhwc.onnx", PALETTE, layout="NHWC"), opts),
        "bgr": (renderer(model_dir / "bgr.onnx", PALETTE, bgr=True),
                TopDownOptions(convention="dark", bgr=True)),
        "batch1": (renderer(model_dir / "b1.onnx", PALETTE, batch=1), opts),
        "dynamic": (renderer(model_dir / "dyn.onnx", PALETTE, spatial="dynamic"),
                    TopDownOptions(convention="dark", input_size=(IN_W, IN_H))),
        "plain": (renderer(model_dir / "plain.onnx", PALETTE, mean=(0, 0, 0), std=(1, 1, 1)),
                  TopDownOptions(convention="dark", mean=(0, 0, 0), std=(1, 1, 1))),
    }
    for name, (model, o) in cases.items():
        s = _run(images, ann, tmp_path / name, model, model_options=o, batch_size=2)
        got = load_dataset(s.path)
        np.testing.assert_allclose(got.heatmaps[:].astype(np.float32), base, atol=2e-3,
                                   err_msg=name)
        if name == "nhwc":
            assert got.meta.provenance["layout"] == "NHWC"
        if name == "batch1":
            assert got.meta.provenance["fixed_batch"] == 1
    # the BGR network fed RGB: another colour matches -> the maps differ
    s = _run(images, ann, tmp_path / "bgr_as_rgb", cases["bgr"][0], model_options=opts)
    assert np.abs(load_dataset(s.path).heatmaps[:].astype(np.float32) - base).max() > 0.5


def test_heatmap_model_reports_its_geometry(model_dir):
    m = HeatmapModel(renderer(model_dir / "g.onnx", PALETTE, layout="NHWC"))
    assert (m.input_size, m.layout, m.heatmap_shape) == ((IN_W, IN_H), "NHWC",
                                                         (17, HM_H, HM_W))
    assert m.fixed_batch is None and m.runtime.startswith("onnxruntime")
    crops = np.zeros((3, IN_H, IN_W, 3), np.float32)
    crops[1, 3:6, 7:10] = PALETTE[4]  # joint 4's colour on input px x 7..9, y 3..5
    hm = m.heatmaps(crops)
    assert hm.shape == (3, 17, HM_H, HM_W)
    # align_corners: heatmap px p samples input px p (w-1)/(W-1): (2, 1) samples
    # (8.26, 4.10), inside the block; its neighbours sample outside it
    assert hm[1, 4, 1, 2] == pytest.approx(1.0, abs=1e-6)
    assert np.sort(hm[1, 4].ravel())[-2] < 1e-6 and hm[[0, 2]].max() < 1e-6


# --------------------------------------------------------------------------- bad models

def test_bad_models_are_named(tmp_path, model_dir):
    images, ann, _ = people_folder(tmp_path, "hrnet")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    cases = [
        (junk, None, "model", "onnxruntime cannot load it"),
        (renderer(model_dir / "reg.onnx", PALETTE, head="regression"), None, "output",
         r"has shape \(1, 17\).*expected heatmaps \(N, K, H, W\)"),
        (renderer(model_dir / "tr.onnx", PALETTE, head="transposed"), None, "output",
         r"heatmaps of 32x24 \(WxH\) for a 96x128 input"),
        (renderer(model_dir / "two.onnx", PALETTE, head="two"), None, "output",
         "several outputs"),
        (renderer(model_dir / "st.onnx", PALETTE), TopDownOptions(input_size=(192, 256)),
         "input_size", r"the model's input is 96x128 \(WxH.*--input-size says 192x256"),
        (renderer(model_dir / "dy.onnx", PALETTE, spatial="dynamic"), None, "input_size",
         "dynamic spatial size"),
        (renderer(model_dir / "nh.onnx", PALETTE, layout="NHWC"),
         TopDownOptions(layout="NCHW"), "layout", "i.e. NHWC; --layout says NCHW"),
        (renderer(model_dir / "k16.onnx", PALETTE[:16]), None, "categories.keypoints",
         "K = 16 heatmap channels but .* 17 keypoints; pass --keypoint-map"),
        (tmp_path / "model.pt", None, "model", "expected a .onnx or .tflite model file"),
    ]
    for model, opts, field, msg in cases:
        with pytest.raises(InputError, match=msg) as e:
            _run(images, ann, tmp_path / "never", model, model_options=opts)
        assert e.value.field == field, (model, e.value)
        assert not (tmp_path / "never").exists()  # the model fails before OUT is touched
    # naming the output resolves the two-output model
    s = _run(images, ann, tmp_path / "two", model_dir / "two.onnx",
             model_options=TopDownOptions(output="heatmaps"))
    assert load_dataset(s.path).meta.provenance["output"] == "heatmaps"
    # BlazePose takes no model-file options
    with pytest.raises(InputError, match="not to BlazePose"):
        run_inference(images, ann, tmp_path / "bp", model_options=TopDownOptions(),
                      progress=False)


def test_cli_runs_a_model_and_reports_bad_ones(tmp_path, model_dir, capsys):
    images, ann, _ = people_folder(tmp_path, "udp")
    model = renderer(model_dir / "cli.onnx", PALETTE, mode="align_corners", mean=(0, 0, 0),
                     std=(255, 255, 255))
    code = main(["infer", "--images", str(images), "--annotations", str(ann), "--out",
                 str(tmp_path / "o"), "--model", str(model), "--mean", "0", "0", "0",
                 "--std", "255", "255", "255", "--convention", "udp", "--sigma", "1.5",
                 "--pipeline", "udp", "--input-size", "96x128", "--no-progress", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["num_instances"] == 3 and summary["model"] == "cli.onnx"
    ds = load_dataset(tmp_path / "o")
    assert ds.meta.pipeline == "udp" and ds.meta.convention == "udp"
    assert evaluate(ds, "standard")["AP"] == pytest.approx(1.0)
    code = main(["infer", "--images", str(images), "--annotations", str(ann), "--out",
                 str(tmp_path / "o2"), "--model", str(model), "--input-size", "10x10",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "cli.onnx: field `input_size`: the model's input is 96x128" in err


# --------------------------------------------------------------------------- flip test

def _centroids(maps: np.ndarray, q: np.ndarray, r: int = 3) -> np.ndarray:
    """(K, 2) value-weighted centroid of each map in the window q ± r (q + 1 in x, so the
    window holds a peak moved right by up to one px)."""
    out = np.empty((len(q), 2))
    for k, (x, y) in enumerate(q.astype(int)):
        win = maps[k, y - r:y + r + 1, x - r:x + r + 2].astype(np.float64)
        yy, xx = np.mgrid[y - r:y + r + 1, x - r:x + r + 2]
        out[k] = (win * xx).sum() / win.sum(), (win * yy).sum() / win.sum()
    return out


@pytest.mark.parametrize("convention", ["dark", "udp"])
def test_flip_test_offsets(tmp_path, model_dir, convention):
    """A mirror-exact network (align_corners): the flipped-back branch equals the original,
    so noshift returns the original maps and shift moves every peak +0.5 heatmap px in x,
    i.e. +0.5 (S-1)/(W-1) image px (dark) or +0.5 S/(W-1) (udp); y never moves."""
    images, ann, truth = people_folder(tmp_path, convention, spacing=5, margin=4)
    model = renderer(model_dir / f"f_{convention}.onnx", PALETTE)
    pairs = tmp_path / "no_pairs.json"
    pairs.write_text("[]")  # the renderer's channels do not swap with the mirror
    runs = {}
    for mode in ("none", "noshift", "shift"):
        s = _run(images, ann, tmp_path / mode, model, flip_test=mode, flip_pairs=pairs,
                 model_options=TopDownOptions(convention=convention), dtype="float32")
        runs[mode] = load_dataset(s.path)
        assert runs[mode].meta.flip_mode == mode
        assert runs[mode].meta.flip_test == (mode != "none")
    none, noshift = runs["none"].heatmaps[:], runs["noshift"].heatmaps[:]
    np.testing.assert_allclose(noshift, none, atol=1e-6)
    ds = runs["shift"]
    df = ds.instances
    S_x = 200.0 * df["scale_x"].to_numpy()
    gain = (S_x - 1) / (HM_W - 1) if convention == "dark" else S_x / (HM_W - 1)
    for row, ann_id in enumerate(df["ann_id"]):
        q = truth[int(ann_id)][0]
        c0 = _centroids(none[row], q)
        c1 = _centroids(ds.heatmaps[row:row + 1][0], q)
        np.testing.assert_allclose(c1 - c0, np.tile([0.5, 0.0], (len(q), 1)), atol=1e-6)
        img0 = runs["none"].to_image(c0[None], [row])[0]
        img1 = ds.to_image(c1[None], [row])[0]
        np.testing.assert_allclose(img1[:, 0] - img0[:, 0], 0.5 * gain[row], atol=1e-5)
        np.testing.assert_allclose(img1[:, 1], img0[:, 1], atol=1e-5)
    for d in runs.values():
        d.close()


def test_flip_pairs_swap_channels(tmp_path, model_dir):
    """With COCO's pairs (the default, from the names) a mirror-exact network's noshift
    maps are the mean of each channel and its partner's (the flipped branch's channel l
    holds joint r's blob, mirrored back onto r's place); the nose stays as it is."""
    images, ann, truth = people_folder(tmp_path, "dark")
    model = renderer(model_dir / "pairs.onnx", PALETTE)
    maps = {}
    for mode in ("none", "noshift"):
        s = _run(images, ann, tmp_path / mode, model, flip_test=mode, dtype="float32",
                 model_options=TopDownOptions(convention="dark"))
        ds = load_dataset(s.path)
        maps[mode] = ds.heatmaps[:].astype(np.float64)
        if mode == "noshift":
            assert ds.meta.provenance["flip_pairs"] == [[1, 2], [3, 4], [5, 6], [7, 8],
                                                        [9, 10], [11, 12], [13, 14], [15, 16]]
        ds.close()
    partner = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    none = maps["none"]
    np.testing.assert_allclose(maps["noshift"], 0.5 * (none + none[:, partner]), atol=1e-6)
    np.testing.assert_allclose(maps["noshift"][:, 0], none[:, 0], atol=1e-6)


# --------------------------------------------------------------------------- keypoint map

def test_keypoint_map_evaluates_the_shared_joints(tmp_path, model_dir):
    """An MPII-16 model: 12 channels are COCO joints (their colours), 4 (pelvis, thorax,
    upper_neck, head_top) respond to face colours and are unmapped. The dataset keeps all
    16 channels; OKS counts the 12 mapped joints with COCO's sigmas: AP = 1."""
    images, ann, truth = people_folder(tmp_path, "dark")
    coco_index = {n: i for i, n in enumerate(COCO_KEYPOINT_NAMES)}
    # unmapped channels 6..9 respond to the colours of nose, left_eye, right_eye, left_ear
    colours = PALETTE[[coco_index[MPII_TO_COCO[c]] if c in MPII_TO_COCO else c - 6
                       for c in range(16)]]
    model = renderer(model_dir / "mpii.onnx", colours)
    kmap = tmp_path / "map.json"
    kmap.write_text(json.dumps({"keypoints": {v: k for k, v in MPII_TO_COCO.items()},
                                "channel_names": MPII_NAMES}))
    s = _run(images, ann, tmp_path / "o", model, keypoint_map=kmap,
             model_options=TopDownOptions(convention="dark"))
    ds = load_dataset(s.path)
    names = list(ds.keypoint_names)
    assert len(names) == 16 and names[6:10] == MPII_NAMES[6:10]
    assert [names[c] for c in MPII_TO_COCO] == list(MPII_TO_COCO.values())
    sig = ds.oks_sigmas
    for c, coco_name in MPII_TO_COCO.items():
        assert sig[c] == COCO_OKS_SIGMAS[coco_index[coco_name]]
    gt = ds.gt_keypoints()
    assert np.all(gt[:, 6:10, 2] == 0) and np.all(gt[:, list(MPII_TO_COCO), 2] == 2)
    for row, ann_id in enumerate(ds.instances["ann_id"]):
        xy = truth[int(ann_id)][1]
        for c, coco_name in MPII_TO_COCO.items():
            np.testing.assert_allclose(gt[row, c, :2], xy[coco_index[coco_name]])
    assert all(a["num_keypoints"] == 12 for a in ds.coco.dataset["annotations"])
    assert ds.flip_pairs == [(3, 2), (4, 1), (5, 0), (13, 12), (14, 11), (15, 10)]
    assert ds.meta.provenance["keypoint_map"]["file"] == str(kmap)
    assert evaluate(ds, "standard")["AP"] == pytest.approx(1.0)
    # the user's annotations are untouched
    assert len(json.loads(ann.read_text())["categories"][0]["keypoints"]) == 17
    ds.close()


def test_keypoint_map_errors_are_named(tmp_path, model_dir):
    images, ann, _ = people_folder(tmp_path, "dark")
    model = renderer(model_dir / "m16.onnx", PALETTE[:16])
    cases = [
        ({"keypoints": {"left_knee": 16}}, "keypoints", r"channel index in \[0, 16\)"),
        ({"keypoints": {"left_knee": 1, "right_knee": 1}}, "keypoints", "channel 1 is mapped"),
        ({"keypoints": {"elbow": 1}}, "keypoints", "not in the annotations"),
        ({"keypoints": {"nose": 0}, "channel_names": ["a"]}, "channel_names",
         "expected 16 unique"),
        ({"map": {}}, "keypoints", "expected an object"),
        ({"keypoints": {"nose": 0}, "channel_names": ["left_eye"] + [f"c{i}" for i in
                                                                      range(1, 15)] +
          ["nose"]}, "channel_names", r"repeat an annotation keypoint"),
    ]
    for i, (content, field, msg) in enumerate(cases):
        f = tmp_path / f"map{i}.json"
        f.write_text(json.dumps(content))
        with pytest.raises(InputError, match=msg) as e:
            _run(images, ann, tmp_path / "never", model, keypoint_map=f)
        assert e.value.field == field and e.value.path == str(f)
    bad_pairs = tmp_path / "pairs.json"
    bad_pairs.write_text(json.dumps([[0, 99]]))
    with pytest.raises(InputError, match=r"\[0\] expected two different channels") as e:
        _run(images, ann, tmp_path / "never", model_dir / "r_dark.onnx"
             if (model_dir / "r_dark.onnx").exists() else renderer(model_dir / "p.onnx",
                                                                  PALETTE),
             flip_test="shift", flip_pairs=bad_pairs)
    assert e.value.field == "flip_pairs"


# --------------------------------------------------------------------------- robustness

def test_resume_after_interruption(tmp_path, model_dir):
    images, ann, _ = people_folder(tmp_path, "hrnet")
    model = renderer(model_dir / "res.onnx", PALETTE, mode="asymmetric")
    opts = TopDownOptions(convention="hrnet")
    full = _run(images, ann, tmp_path / "full", model, model_options=opts, batch_size=1)

    def stop(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(images, ann, tmp_path / "part", model, model_options=opts, batch_size=1,
             on_batch=stop)
    assert not (tmp_path / "part" / "heatmaps.h5").exists()
    with pytest.raises(InputError, match="unfinished run with other inputs"):
        _run(images, ann, tmp_path / "part", model, batch_size=1,
             model_options=TopDownOptions(convention="dark"))
    s = _run(images, ann, tmp_path / "part", model, model_options=opts, batch_size=1)
    assert (s.resumed, s.computed, s.num_instances) == (2, 1, 3)
    np.testing.assert_array_equal(load_dataset(s.path).heatmaps[:],
                                  load_dataset(full.path).heatmaps[:])


def test_bad_images_stop_or_are_skipped(tmp_path, model_dir):
    images, ann, _ = people_folder(tmp_path, "hrnet")
    (images / "2.png").write_bytes(b"\x89PNG broken")
    model = renderer(model_dir / "skip.onnx", PALETTE, mode="asymmetric")
    with pytest.raises(InputError, match="image 2: .*--skip-bad-images") as e:
        _run(images, ann, tmp_path / "o", model)
    assert e.value.path == str(images / "2.png")
    s = _run(images, ann, tmp_path / "o", model, skip_bad_images=True)
    assert s.num_instances == 2 and [(d["image_id"], d["file"], d["boxes"])
                                     for d in s.skipped] == [(2, "2.png", 1)]
    ds = load_dataset(s.path)
    assert ds.image_ids == [1]
    assert ds.meta.provenance["skipped_images"][0]["file"] == "2.png"
    assert evaluate(ds, "standard")["AP"] == pytest.approx(1.0)
    # a missing image file is skipped the same way
    (images / "2.png").unlink()
    s = _run(images, ann, tmp_path / "o2", model, skip_bad_images=True)
    assert s.skipped[0]["reason"].startswith("image not found")
    with pytest.raises(InputError, match="file '2.png' not found"):
        _run(images, ann, tmp_path / "o3", model)


def test_missing_runtime_names_the_pip_command(tmp_path, model_dir, monkeypatch):
    import sys

    from daec_viz.exceptions import ModelNotInstalledError
    model = renderer(model_dir / "rt.onnx", PALETTE)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ModelNotInstalledError, match=r'pip install "onnxruntime>=1\.17"'):
        HeatmapModel(model)


def test_generic_tflite_runs_blazepose_with_a_keypoint_map(tmp_path):
    """The .tflite route: BlazePose's file under another name is a generic model (39
    channels, NHWC, inputs in [0, 1] = mean 0, std 255); mapping its COCO channels gives
    the same logits argmax as the BlazePose runner's probabilities on the same crop."""
    from shared_data import COCO_MINI

    from daec_viz.exceptions import ModelNotInstalledError
    from daec_viz.realnet import blazepose as bp
    try:
        src = bp.find_model_file()
        bp._interpreter_class()
    except ModelNotInstalledError:
        pytest.skip("BlazePose model or ai-edge-litert not installed")
    if not (COCO_MINI / "person_keypoints.json").is_file():
        pytest.skip("../shared/data/coco-mini not present")
    model = tmp_path / "blazepose_copy.tflite"
    model.write_bytes(src.read_bytes())
    kmap = tmp_path / "map.json"
    kmap.write_text(json.dumps({"keypoints": {n: bp.COCO_FROM_BLAZEPOSE[i]
                                              for i, n in enumerate(COCO_KEYPOINT_NAMES)}}))
    opts = TopDownOptions(output="Identity_3", mean=(0, 0, 0), std=(255, 255, 255))
    m = HeatmapModel(model, opts)
    assert (m.layout, m.input_size, m.heatmap_shape) == ("NHWC", (256, 256), (39, 64, 64))
    s = run_inference(COCO_MINI / "images", COCO_MINI / "person_keypoints.json",
                      tmp_path / "o", model_path=model, model_options=opts,
                      keypoint_map=kmap, progress=False, dtype="float32")
    ds = load_dataset(s.path)
    assert ds.num_keypoints == 39 and s.num_instances == 12
    crops = np.random.default_rng(0).uniform(0, 255, (2, 256, 256, 3)).astype(np.float32)
    logits = m.heatmaps(crops)[:, list(bp.COCO_FROM_BLAZEPOSE)]
    probs = bp.BlazePose(src).heatmaps(crops / 255)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), probs, rtol=1e-4, atol=1e-6)
    from daec_viz.exceptions import DataWarning
    with pytest.warns(DataWarning, match="no positive value"):  # raw logits, stored as is
        assert evaluate(ds, "standard")["AP"] > 0.3  # BlazePose on coco-mini: ~0.4
    ds.close()
