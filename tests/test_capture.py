"""Capture from users' models: mmpose conversion arithmetic and the PyTorch hook."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from daec_viz.exceptions import InputError
from daec_viz.geometry import to_image
from daec_viz.io.coco_format import make_coco_annotations
from daec_viz.io.writer import HeatmapWriter
from daec_viz.realnet.capture import (
    TorchHeatmapCapture,
    add_mmpose_samples,
    mmpose_center_scale,
    mmpose_samples_to_arrays,
)


def _mmpose_msra(hm_xy, centers, scales_px, heatmap_size):
    """mmpose 1.x: codec.decode (hm * input/heatmap) then add_pred_to_datasample."""
    input_size = np.asarray(heatmap_size) * 4.0
    kp_input = hm_xy * (input_size / np.asarray(heatmap_size))
    return kp_input / input_size * scales_px[:, None] + centers[:, None] \
        - 0.5 * scales_px[:, None]


def test_mmpose_known_answer():
    c, s = mmpose_center_scale([[100.0, 50.0]], [[192.0, 256.0]])
    assert s.tolist() == [[0.96, 1.28]]
    # mmpose: 23.5 / 48 * 192 + 100 - 96 = 98; 31.5 / 64 * 256 + 50 - 128 = 48
    pt = to_image(np.array([[[23.5, 31.5]]]), c, s, (48, 64), "hrnet")
    np.testing.assert_allclose(pt, [[[98.0, 48.0]]], atol=1e-12)


def test_mmpose_msra_and_udp_mappings_match_random():
    rng = np.random.default_rng(3)
    n, k, w, h = 6, 17, 48, 64
    centers = rng.uniform(0, 600, (n, 2))
    scales_px = rng.uniform(30, 500, (n, 2))
    hm = rng.uniform(-1, 64, (n, k, 2))
    c, s = mmpose_center_scale(centers, scales_px)
    np.testing.assert_allclose(to_image(hm, c, s, (w, h), "hrnet"),
                               _mmpose_msra(hm, centers, scales_px, (w, h)), rtol=1e-12,
                               atol=1e-9)
    # UDPHeatmap: keypoints = hm / (size - 1) * input_size, then the same box mapping
    size = np.array([w, h], float)
    udp = hm / (size - 1) * scales_px[:, None] + centers[:, None] - 0.5 * scales_px[:, None]
    np.testing.assert_allclose(to_image(hm, c, s, (w, h), "udp"), udp, rtol=1e-12, atol=1e-9)


def _sample(heat, center, scale_px, bbox_xyxy=None, score=None, legacy=False):
    """A PoseDataSample-like record with the attributes mmpose 1.x fills: mmpose >= 1.2
    (``PackPoseInputs`` of 1.2.0-1.3.2) keeps the box mmpose maps with in metainfo
    (input_center, input_scale) and gt_instances.bbox_scales (no bbox_centers); 1.0/1.1
    (``legacy``) packed gt_instances.bbox_centers and bbox_scales and no input_center."""
    gi = SimpleNamespace(bbox_scales=np.asarray([scale_px], float))
    meta = {"input_size": (192, 256)}
    if legacy:
        gi.bbox_centers = np.asarray([center], float)
    else:
        meta.update(input_center=np.asarray(center, float),
                    input_scale=np.asarray(scale_px, float))
    if bbox_xyxy is not None:
        gi.bboxes = np.asarray([bbox_xyxy], float)
    if score is not None:
        gi.bbox_scores = np.asarray([score], float)
    return SimpleNamespace(pred_fields=SimpleNamespace(heatmaps=heat), gt_instances=gi,
                           metainfo=meta)


def _annotations(tmp_path: Path, n_images: int = 2) -> Path:
    images = [{"id": i + 1, "file_name": f"{i + 1}.jpg", "width": 640, "height": 480}
              for i in range(n_images)]
    anns = [{"image_id": i + 1, "keypoints": [[100 + j, 100 + j, 2] for j in range(17)]}
            for i in range(n_images)]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(make_coco_annotations(images, anns)))
    return path


def test_mmpose_samples_to_a_dataset(tmp_path):
    from daec_viz.io.datasets import load_dataset
    _annotations(tmp_path)
    rng = np.random.default_rng(0)
    heat = rng.random((2, 17, 64, 48)).astype(np.float32)
    samples = [_sample(heat[0], (300.0, 200.0), (150.0, 200.0), (230, 110, 370, 290), 0.8),
               _sample(heat[1][None], (100.0, 90.0), (96.0, 128.0), legacy=True)]
    arr = mmpose_samples_to_arrays(samples)
    np.testing.assert_array_equal(arr["bboxes"][0], [230, 110, 140, 180])
    np.testing.assert_allclose(arr["bboxes"][1], [52, 26, 96, 128])
    assert arr["scores"].tolist() == [0.8, 1.0]
    with HeatmapWriter(tmp_path / "heatmaps.h5", input_size=(192, 256), sigma=2.0,
                       convention="hrnet", model="mmpose-test") as w:
        assert add_mmpose_samples(w, samples, image_ids=[1, 2]) == 2
    ds = load_dataset(tmp_path)
    np.testing.assert_array_equal(ds.heatmaps[:], heat)
    hm = rng.uniform(0, 48, (2, 17, 2))
    expect = _mmpose_msra(hm, np.array([[300.0, 200.0], [100.0, 90.0]]),
                          np.array([[150.0, 200.0], [96.0, 128.0]]), (48, 64))
    np.testing.assert_allclose(ds.to_image(hm, np.arange(2)), expect, atol=1e-9)
    ds.close()


def test_mmpose_sample_without_heatmaps_says_how_to_get_them():
    s = SimpleNamespace(pred_fields=None, gt_instances=None)
    with pytest.raises(InputError, match="output_heatmaps=True"):
        mmpose_samples_to_arrays([s])
    s = SimpleNamespace(pred_fields=SimpleNamespace(heatmaps=np.zeros((17, 64, 48))),
                        gt_instances=SimpleNamespace(bbox_scales=np.ones((1, 2))),
                        metainfo={"input_size": (192, 256)})
    with pytest.raises(InputError, match="neither metainfo input_center/input_scale"):
        mmpose_samples_to_arrays([s])


def test_real_mmpose_data_samples(tmp_path):
    """With mmpose's own structures (mmengine InstanceData / PixelData, mmpose's
    PoseDataSample), laid out as mmpose 1.3's PackPoseInputs and add_pred_to_datasample
    leave them. mmpose is not installed in CI (see the module docstring)."""
    structures = pytest.importorskip("mmpose.structures")
    from mmengine.structures import InstanceData, PixelData
    rng = np.random.default_rng(1)
    heat = rng.random((2, 17, 64, 48)).astype(np.float32)
    centers = np.array([[300.0, 200.0], [100.0, 90.0]])
    scales_px = np.array([[150.0, 200.0], [96.0, 128.0]])
    samples = []
    for i in range(2):
        ds = structures.PoseDataSample(metainfo=dict(
            input_size=(192, 256), input_center=centers[i], input_scale=scales_px[i]))
        ds.gt_instances = InstanceData(bboxes=np.array([[0.0, 0, 10, 20]]),
                                       bbox_scores=np.array([0.5 + i / 4]),
                                       bbox_scales=scales_px[i][None])
        ds.pred_fields = PixelData(heatmaps=heat[i])
        samples.append(ds)
    arr = mmpose_samples_to_arrays(samples)
    np.testing.assert_array_equal(arr["heatmaps"], heat)
    np.testing.assert_allclose(arr["centers"], centers)
    np.testing.assert_allclose(arr["scales"], scales_px / 200)
    assert arr["scores"].tolist() == [0.5, 0.75]
    np.testing.assert_array_equal(arr["bboxes"], [[0, 0, 10, 20]] * 2)


RENDER_SIGMA = 2.0  # heatmap px
STRIDE = 4


def _renderer(torch, k):
    """A fixed conv net whose output is known: input (n, K, 256, 192) with one 1 per
    channel at input pixel (X, Y); output (n, K, 64, 48) with channel k =
    exp(-((x - X/4)² + (y - Y/4)²) / (2 σ²)) for |x - X/4|, |y - Y/4| <= 3σ, else 0 (one
    depthwise stride-4 conv whose kernel is that Gaussian sampled every 1/4 heatmap px).
    The head returns a dict, as mmpose-style heads may; the capture picks "heatmaps"."""
    r = int(3 * RENDER_SIGMA * STRIDE)
    u = (torch.arange(2 * r + 1, dtype=torch.float64) - r) / STRIDE
    g = torch.exp(-u ** 2 / (2 * RENDER_SIGMA ** 2))

    class Renderer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(k, k, 2 * r + 1, stride=STRIDE, padding=r, groups=k,
                                        bias=False)
            with torch.no_grad():
                self.conv.weight.copy_((g[:, None] * g[None, :]).expand(k, 1, -1, -1))

        def forward(self, x):
            return {"heatmaps": self.conv(x), "stage": "final"}

    return Renderer().eval()


def test_torch_capture_known_positions_through_cache_dataset_and_decoder(tmp_path):
    """The documented recipe end to end: marks at known input pixels -> the renderer's
    heatmaps -> TorchHeatmapCapture -> HeatmapWriter -> load_dataset -> predict. A
    sampled Gaussian's log is a parabola, so the three-point fit (``gauss3``) recovers its
    centre X/4 exactly (to float32 rounding); with the box of centre c and size
    S = 4·(W, H) = (192, 256) px (scale (0.96, 1.28)), the hrnet/mmpose mapping puts
    input pixel X at image px c - S/2 + X."""
    torch = pytest.importorskip("torch")
    from daec_viz.evaluation.predict import predict
    from daec_viz.io.datasets import load_dataset
    _annotations(tmp_path)
    k, n = 17, 5
    rng = np.random.default_rng(7)
    marks = np.stack([rng.integers(12, 180, (n, k)), rng.integers(12, 244, (n, k))],
                     axis=-1)  # (n, K, 2) input px, away from the border
    images = torch.zeros(n, k, 256, 192)
    for i, j in np.ndindex(n, k):
        images[i, j, marks[i, j, 1], marks[i, j, 0]] = 1.0
    centers = rng.uniform(150, 450, (n, 2))
    scales = np.tile([0.96, 1.28], (n, 1))
    ids = np.array([1, 1, 2, 2, 2])
    model = _renderer(torch, k)
    with HeatmapWriter(tmp_path / "heatmaps.h5", input_size=(192, 256), sigma=RENDER_SIGMA,
                       convention="hrnet", model="renderer") as w, \
            TorchHeatmapCapture(model, w) as cap, torch.no_grad():
        for sl in (slice(0, 2), slice(2, 5)):
            cap.set_batch(image_ids=ids[sl], centers=torch.as_tensor(centers[sl]),
                          scales=scales[sl], scores=np.full(sl.stop - sl.start, 0.9))
            model(images[sl])
    ds = load_dataset(tmp_path)
    assert ds.heatmaps.shape == (n, k, 64, 48) and ds.meta.convention == "hrnet"
    hm = np.asarray(ds.heatmaps[:])
    yy, xx = np.mgrid[0:64, 0:48]
    cx, cy = marks[..., 0, None, None] / 4, marks[..., 1, None, None] / 4
    expect_hm = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * RENDER_SIGMA ** 2))
    expect_hm *= (np.abs(xx - cx) <= 3 * RENDER_SIGMA) & (np.abs(yy - cy) <= 3 * RENDER_SIGMA)
    np.testing.assert_allclose(hm, expect_hm, atol=1e-6)
    pred = predict(ds, "gauss3")
    assert pred.valid.all()
    np.testing.assert_allclose(pred.coords_hm, marks / 4, atol=1e-5)
    expect_img = centers[:, None] - np.array([96.0, 128.0]) + marks
    np.testing.assert_allclose(pred.coords_img, expect_img, atol=4e-5)
    np.testing.assert_array_equal(pred.image_ids, ids)
    # the integer argmax is a nearest heatmap pixel (X/4 may lie half-way)
    std = predict(ds, "standard").coords_hm
    assert np.all(np.abs(std - marks / 4) <= 0.5)
    ds.close()


def test_torch_hook_writes_a_cache_load_dataset_opens(tmp_path):
    torch = pytest.importorskip("torch")
    from daec_viz.io.datasets import load_dataset
    _annotations(tmp_path)
    torch.manual_seed(0)

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Conv2d(3, 8, 3, stride=4, padding=1)
            self.head = torch.nn.Conv2d(8, 17, 1)

        def forward(self, x):
            return self.head(torch.relu(self.backbone(x)))

    model = Tiny().eval()
    images = torch.rand(5, 3, 64, 48)
    with torch.no_grad():
        expect = model(images).numpy()
    centers = np.array([[320.0, 240.0]] * 5)
    scales = np.array([[0.75, 1.0]] * 5)
    ids = np.array([1, 1, 2, 2, 2])
    with HeatmapWriter(tmp_path / "heatmaps.h5", input_size=(48, 64), sigma=2.0,
                       convention="hrnet", model="tiny") as w:
        with TorchHeatmapCapture(model.head, w) as cap, torch.no_grad():
            for sl in (slice(0, 3), slice(3, 5)):  # two batches
                cap.set_batch(image_ids=torch.as_tensor(ids[sl]),
                              centers=torch.as_tensor(centers[sl]),
                              scales=scales[sl], ann_ids=ids[sl])
                model(images[sl])
            assert cap.count == 5
            with pytest.raises(InputError, match="without box metadata"):
                model(images[:1])
        assert cap._handle is None
        model(images[:1])  # hook removed: nothing written, no error
    ds = load_dataset(tmp_path)
    assert ds.heatmaps.shape == (5, 17, 16, 12)
    np.testing.assert_allclose(ds.heatmaps[:], expect, rtol=1e-6)
    assert ds.instances["image_id"].tolist() == ids.tolist()
    assert ds.instances["ann_id"].tolist() == ids.tolist()
    ds.close()
