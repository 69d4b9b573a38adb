"""Any exported top-down heatmap model: ``.onnx`` (onnxruntime) or ``.tflite`` (ai-edge-litert).

:class:`HeatmapModel` loads the file, works out its input (layout, size, batch) and its
heatmap output, and turns crops into ``(n, K, H, W)`` heatmaps. :class:`TopDownOptions`
holds what the model file does not say: the crop (``convention``, ``padding``), the
normalisation (``mean``, ``std``, ``bgr``) and what to record (``sigma``, ``pipeline``).
The defaults fit mmpose's exports (HRNet, SimpleBaseline, ViTPose, ... top-down heatmap
heads, ``MSRAHeatmap`` codec):

- crop: the box grown to the input's aspect ratio, padded ×1.25
  (:func:`~daec_viz.geometry.box_to_center_scale`), then the input image is the crop the
  ``convention`` implies: input px ``u`` samples image px
  ``heatmap_to_image_affine(center, scale, input_size, convention) @ [u, v, 1]``
  (the crop is the convention taken at input size, as the code bases build it; see
  :mod:`daec_viz.synthetic.pipeline`), bilinear, zeros outside the image;
- pixels RGB in [0, 255], ``(x - mean) / std`` per channel with ImageNet's mean
  (123.675, 116.28, 103.53) and std (58.395, 57.12, 57.375) (mmpose's
  ``data_preprocessor``); ``bgr``: the channels are fed in B, G, R order (mean and std
  are still given as R, G, B);
- heatmap px -> image px: the same ``convention`` at heatmap size (``hrnet`` for
  ``MSRAHeatmap``, ``udp`` for ``UDPHeatmap``, ``dark`` for DarkPose).

The model's input must be one 4-D float tensor, NCHW ``(N, 3, h, w)`` or NHWC
``(N, h, w, 3)`` (detected from the shape where it is static); its heatmap output is
read in the same layout: ``(N, K, H, W)`` or ``(N, H, W, K)``. A model with a fixed
batch size is run in chunks of that size.

Examples
--------
>>> m = HeatmapModel("hrnet_w32_coco_256x192.onnx")                    # doctest: +SKIP
>>> m.input_size, m.layout, m.heatmap_shape                            # doctest: +SKIP
((192, 256), 'NCHW', (17, 64, 48))
>>> hm = m.heatmaps(crops)          # crops (n, 256, 192, 3) RGB 0..255 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daec_viz.exceptions import InputError, ModelNotInstalledError
from daec_viz.geometry import CONVENTIONS, PIPELINES
from daec_viz.realnet.blazepose import file_sha256

__all__ = ["TopDownOptions", "HeatmapModel", "IMAGENET_MEAN", "IMAGENET_STD", "LAYOUTS",
           "PIP_ONNX", "parse_size"]

#: ImageNet's channel means and stds on the 0..255 scale (R, G, B), as mmpose uses them.
IMAGENET_MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
IMAGENET_STD: tuple[float, float, float] = (58.395, 57.12, 57.375)
LAYOUTS: tuple[str, ...] = ("NCHW", "NHWC")
PIP_ONNX = 'pip install "onnxruntime>=1.17"   (or: pip install "daec-viz[onnx]")'
PIP_TFLITE = 'pip install "ai-edge-litert>=1.2"'
SUFFIXES: tuple[str, ...] = (".onnx", ".tflite")


@dataclass(frozen=True)
class TopDownOptions:
    """What a top-down model's file does not say (module docstring).

    Attributes
    ----------
    input_size : (w, h) input px, or None to take it from the model (required when the
        model's spatial size is dynamic; an error when it disagrees with the model's).
    mean, std : per-channel normalisation, R, G, B, on the 0..255 scale.
    bgr : feed the channels in B, G, R order.
    layout : ``"NCHW"``, ``"NHWC"`` or None (from the model's input shape).
    output : name of the heatmap output, or None (the only output, or the only 4-D one).
    convention : crop and heatmap -> image mapping, one of
        :data:`~daec_viz.geometry.CONVENTIONS`.
    sigma : σ of the training targets, heatmap px (recorded for DAEC's window).
    padding : box padding (1.25).
    pipeline : training pipeline recorded in the cache (:data:`~daec_viz.geometry.PIPELINES`
        or ``"unknown"``).
    num_threads : runtime threads (None: the runtime's choice).
    """

    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    bgr: bool = False
    layout: str | None = None
    output: str | None = None
    convention: str = "hrnet"
    sigma: float = 2.0
    padding: float = 1.25
    pipeline: str = "unknown"
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.input_size is not None:
            ok = len(tuple(self.input_size)) == 2 and all(
                isinstance(v, (int, np.integer)) and v >= 1 for v in self.input_size)
            if not ok:
                raise InputError(f"expected (width, height), two positive integers, got "
                                 f"{self.input_size!r}", field="input_size")
            object.__setattr__(self, "input_size", tuple(int(v) for v in self.input_size))
        for name in ("mean", "std"):
            v = tuple(float(x) for x in getattr(self, name))
            if len(v) != 3 or not np.all(np.isfinite(v)):
                raise InputError(f"expected three finite numbers (R, G, B), got {v}",
                                 field=name)
            object.__setattr__(self, name, v)
        if any(s == 0 for s in self.std):
            raise InputError(f"expected non-zero stds, got {self.std}", field="std")
        if self.layout is not None and self.layout not in LAYOUTS:
            raise InputError(f"expected one of {list(LAYOUTS)}, got {self.layout!r}",
                             field="layout")
        if self.convention not in CONVENTIONS:
            raise InputError(f"expected one of {list(CONVENTIONS)}, got {self.convention!r}",
                             field="convention")
        if self.pipeline not in (*PIPELINES, "unknown"):
            raise InputError(f"expected one of {[*PIPELINES, 'unknown']}, got "
                             f"{self.pipeline!r}", field="pipeline")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise InputError(f"expected a positive number (heatmap px), got {self.sigma!r}",
                             field="sigma")
        if not (np.isfinite(self.padding) and self.padding > 0):
            raise InputError(f"expected a positive number, got {self.padding!r}",
                             field="padding")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = None if self.input_size is None else list(self.input_size)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d


# --------------------------------------------------------------------------- backends

def _runtime(module: str, dist: str, path: Path, pip: str) -> Any:
    """Import a runtime module, or ModelNotInstalledError with the pip command."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelNotInstalledError(f"running {path.name} needs {dist}, which is not "
                                     f"installed ({exc}); install it with: {pip}") from exc


class _Onnx:
    """onnxruntime session: one float input, named outputs."""

    runtime = "onnxruntime"

    def __init__(self, path: Path, num_threads: int | None) -> None:
        ort = _runtime("onnxruntime", "onnxruntime", path, PIP_ONNX)
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if num_threads:
            so.intra_op_num_threads = int(num_threads)
        try:
            self.sess = ort.InferenceSession(str(path), sess_options=so,
                                             providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for bad files
            raise InputError(f"onnxruntime cannot load it ({str(exc).strip()[:300]}); "
                             f"expected an ONNX model file", field="model", path=path) from None
        self.version = ort.__version__
        ins = self.sess.get_inputs()
        if len(ins) != 1:
            raise InputError(f"expected one input (the image batch), the model has "
                             f"{[i.name for i in ins]}", field="model", path=path)
        self.input_name = ins[0].name
        self.input_shape = [d if isinstance(d, int) and d > 0 else None for d in ins[0].shape]
        types = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
                 "tensor(double)": np.float64}
        if ins[0].type not in types:
            raise InputError(f"input {self.input_name!r} is {ins[0].type}; expected a float "
                             f"tensor (quantised inputs are not supported)", field="model",
                             path=path)
        self.input_dtype = types[ins[0].type]
        self.outputs = {o.name: [d if isinstance(d, int) else None for d in o.shape]
                        for o in self.sess.get_outputs()}

    def resize(self, n: int) -> bool:
        return True

    def run(self, x: np.ndarray, output: str) -> np.ndarray:
        return self.sess.run([output], {self.input_name: x.astype(self.input_dtype,
                                                                    copy=False)})[0]


class _TFLite:
    """ai-edge-litert interpreter: the batch is resized when the model allows it."""

    runtime = "ai-edge-litert"

    def __init__(self, path: Path, num_threads: int | None) -> None:
        interpreter = _runtime("ai_edge_litert.interpreter", "ai-edge-litert", path,
                               PIP_TFLITE).Interpreter
        try:
            self.interp = interpreter(model_path=str(path), num_threads=num_threads)
            self.interp.allocate_tensors()
        except Exception as exc:  # the runtime raises ValueError/RuntimeError
            raise InputError(f"ai-edge-litert cannot load it ({str(exc).strip()[:300]}); "
                             f"expected a TFLite model file", field="model", path=path) from None
        from importlib.metadata import PackageNotFoundError, version
        try:
            self.version = version("ai-edge-litert")
        except PackageNotFoundError:
            self.version = "?"
        ins = self.interp.get_input_details()
        if len(ins) != 1:
            raise InputError(f"expected one input (the image batch), the model has "
                             f"{[i['name'] for i in ins]}", field="model", path=path)
        d = ins[0]
        if np.dtype(d["dtype"]).kind != "f":
            raise InputError(f"input {d['name']!r} is {np.dtype(d['dtype'])}; expected a "
                             f"float tensor (quantised inputs are not supported)",
                             field="model", path=path)
        self.input_name, self._in = d["name"], d["index"]
        self.input_dtype = np.dtype(d["dtype"])
        sig = d.get("shape_signature", d["shape"])
        self.input_shape = [int(v) if v > 0 else None for v in sig]
        self.outputs = {o["name"]: [int(v) if v > 0 else None
                                    for v in o.get("shape_signature", o["shape"])]
                        for o in self.interp.get_output_details()}
        self._index = {o["name"]: o["index"] for o in self.interp.get_output_details()}
        self._batch = int(d["shape"][0])

    def resize(self, n: int) -> bool:
        """Make the input batch ``n``; False when the model does not allow it."""
        if n == self._batch:
            return True
        shape = list(self.interp.get_input_details()[0]["shape"])
        try:
            self.interp.resize_tensor_input(self._in, [n, *shape[1:]])
            self.interp.allocate_tensors()
        except Exception:  # a graph with a fixed batch
            self.interp.resize_tensor_input(self._in, [self._batch, *shape[1:]])
            self.interp.allocate_tensors()
            return False
        self._batch = n
        return True

    def run(self, x: np.ndarray, output: str) -> np.ndarray:
        self.interp.set_tensor(self._in, np.ascontiguousarray(x, dtype=self.input_dtype))
        self.interp.invoke()
        return self.interp.get_tensor(self._index[output]).copy()


# --------------------------------------------------------------------------- the model

class HeatmapModel:
    """A top-down heatmap model file run on CPU (module docstring).

    Parameters
    ----------
    path : ``.onnx`` or ``.tflite`` file.
    options : :class:`TopDownOptions` (input size, layout, output, normalisation, ...).

    Attributes
    ----------
    input_size : (w, h) input px.
    layout : ``"NCHW"`` or ``"NHWC"`` (input and output).
    output : the heatmap output's name.
    heatmap_shape : (K, H, W) of one crop's heatmaps.
    fixed_batch : the model's fixed batch size, or None when any batch runs.
    sha256, runtime : the file's hash; ``"onnxruntime 1.x"`` / ``"ai-edge-litert 2.x"``.

    Raises :class:`~daec_viz.exceptions.ModelNotInstalledError` (with the pip command)
    when the runtime is missing and :class:`~daec_viz.exceptions.InputError` naming the
    file when it cannot be loaded, its input is not one 4-D float image tensor, its input
    size disagrees with ``options.input_size``, or its output is not heatmap-like.
    """

    def __init__(self, path: str | Path, options: TopDownOptions | None = None) -> None:
        self.path = Path(path)
        self.options = options = options or TopDownOptions()
        if self.path.suffix.lower() not in SUFFIXES:
            raise InputError(f"expected a {' or '.join(SUFFIXES)} model file, got "
                             f"{self.path.name!r}", field="model", path=self.path)
        if not self.path.is_file():
            raise InputError("model file not found", field="model", path=self.path)
        backend = _Onnx if self.path.suffix.lower() == ".onnx" else _TFLite
        self._b = backend(self.path, options.num_threads)
        self.runtime = f"{self._b.runtime} {self._b.version}"
        self.sha256 = file_sha256(self.path)
        self.layout, self.input_size, self.fixed_batch = self._input_geometry()
        self.output = self._pick_output()
        self.heatmap_shape = self._probe()

    # -- set-up
    def _err(self, message: str, field: str = "model") -> InputError:
        return InputError(message, field=field, path=self.path)

    def _input_geometry(self) -> tuple[str, tuple[int, int], int | None]:
        shape = self._b.input_shape
        name = self._b.input_name
        if len(shape) != 4:
            raise self._err(f"input {name!r} has shape {shape}; expected an image batch "
                            f"(N, 3, h, w) or (N, h, w, 3)")
        opt = self.options
        c_first, c_last = shape[1] == 3, shape[3] == 3
        detected = "NCHW" if c_first and not c_last else "NHWC" if c_last and not c_first \
            else None
        if opt.layout is not None and detected is not None and opt.layout != detected:
            raise self._err(f"input {name!r} has shape {shape}, i.e. {detected}; "
                            f"--layout says {opt.layout}", field="layout")
        layout = opt.layout or detected or ("NCHW" if self._b.runtime == "onnxruntime"
                                            else "NHWC")
        ch, hh, ww = (shape[1], shape[2], shape[3]) if layout == "NCHW" else \
            (shape[3], shape[1], shape[2])
        if ch not in (3, None):
            raise self._err(f"input {name!r} has shape {shape}: {ch} channels in {layout}; "
                            f"expected 3 (RGB/BGR)", field="layout")
        model_size = (ww, hh) if ww and hh else None
        if opt.input_size is not None and model_size is not None \
                and tuple(opt.input_size) != model_size:
            raise self._err(f"the model's input is {model_size[0]}x{model_size[1]} (WxH, "
                            f"shape {shape}) but --input-size says "
                            f"{opt.input_size[0]}x{opt.input_size[1]}", field="input_size")
        size = model_size or opt.input_size
        if size is None:
            raise self._err(f"input {name!r} has a dynamic spatial size {shape}; pass "
                            f"--input-size WxH (e.g. 192x256)", field="input_size")
        # ONNX: a static batch dimension is fixed; TFLite: try resizing (_TFLite.resize)
        fixed = shape[0] if self._b.runtime == "onnxruntime" else None
        return layout, (int(size[0]), int(size[1])), fixed

    def _pick_output(self) -> str:
        outs = self._b.outputs
        want = self.options.output
        if want is not None:
            if want not in outs:
                raise self._err(f"no output {want!r}; the model's outputs are "
                                f"{ {k: v for k, v in outs.items()} }", field="output")
            return want
        if len(outs) == 1:
            return next(iter(outs))
        four = [k for k, v in outs.items() if len(v) == 4]
        if len(four) == 1:
            return four[0]
        raise self._err(f"the model has several outputs { {k: v for k, v in outs.items()} }; "
                        f"name the heatmap one with --output", field="output")

    def _probe(self) -> tuple[int, int, int]:
        """Run one zero batch and check the output is heatmap-like; (K, H, W)."""
        w, h = self.input_size
        out = self._raw(np.zeros((1, h, w, 3), np.float32))
        return tuple(out.shape[1:])  # type: ignore[return-value]

    # -- running
    def _forward(self, x: np.ndarray) -> np.ndarray:
        """Model input (n, ...) in the model's layout -> raw output, batch by batch."""
        n = len(x)
        b = self.fixed_batch
        if b is None and self._b.resize(n):
            return self._b.run(x, self.output)
        if b is None:  # TFLite that refused the resize: its own batch
            b = self._b._batch
            self.fixed_batch = b
        parts = []
        for start in range(0, n, b):
            chunk = x[start:start + b]
            if len(chunk) < b:  # pad the last chunk (a fixed-batch graph)
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], b - len(chunk), 0)])
            parts.append(self._b.run(chunk, self.output)[:min(b, n - start)])
        return np.concatenate(parts)

    def _raw(self, crops: np.ndarray) -> np.ndarray:
        """Crops (n, h, w, 3) RGB 0..255 -> checked heatmaps (n, K, H, W) float32."""
        opt = self.options
        x = (crops.astype(np.float32) - np.asarray(opt.mean, np.float32)) \
            / np.asarray(opt.std, np.float32)
        if opt.bgr:
            x = x[..., ::-1]
        if self.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        out = np.asarray(self._forward(np.ascontiguousarray(x)))
        return self._check_output(out, len(crops))

    def _check_output(self, out: np.ndarray, n: int) -> np.ndarray:
        w, h = self.input_size
        hint = ("expected heatmaps (N, K, H, W)" if self.layout == "NCHW"
                else "expected heatmaps (N, H, W, K)") + \
            f" in the input's layout {self.layout} with H <= {h}, W <= {w} and H/W = " \
            f"{h}/{w} (a regression or SimCC head has no heatmaps; pick the heatmap output " \
            f"with --output, or the layout with --layout)"
        if out.ndim != 4 or out.shape[0] != n or out.dtype.kind != "f":
            raise self._err(f"output {self.output!r} has shape {out.shape} dtype {out.dtype} "
                            f"for a batch of {n}; {hint}", field="output")
        hm = out if self.layout == "NCHW" else out.transpose(0, 3, 1, 2)
        hh, ww = hm.shape[2:]
        if not (hh <= h and ww <= w and abs(hh * w - ww * h) <= max(w, h)) or hh < 2 \
                or ww < 2:
            raise self._err(f"output {self.output!r} has shape {out.shape}: heatmaps of "
                            f"{ww}x{hh} (WxH) for a {w}x{h} input; {hint}", field="output")
        return np.ascontiguousarray(hm, dtype=np.float32)

    def heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """Heatmaps of crops.

        Parameters
        ----------
        crops : (n, h, w, 3) float RGB on the 0..255 scale (as :func:`~daec_viz.realnet.
            crops.warp_crops` gives them), ``(w, h) = input_size``.

        Returns
        -------
        (n, K, H, W) float32, the model's output as it is (no activation).
        """
        w, h = self.input_size
        c = np.asarray(crops)
        if c.ndim != 4 or c.shape[1:] != (h, w, 3):
            raise InputError(f"expected crops of shape (n, {h}, {w}, 3), got {c.shape}",
                             field="crops")
        if len(c) == 0:
            return np.zeros((0, *self.heatmap_shape), np.float32)
        return self._raw(c)

    def describe(self) -> dict[str, Any]:
        """Facts for the provenance: file, hash, runtime, input, output."""
        return {"model_file": str(self.path.resolve()), "model_sha256": self.sha256,
                "runtime": self.runtime, "input_name": self._b.input_name,
                "input_shape": self._b.input_shape, "layout": self.layout,
                "input_size": list(self.input_size), "output": self.output,
                "output_shape": list(self.heatmap_shape), "fixed_batch": self.fixed_batch}


def parse_size(text: str) -> tuple[int, int]:
    """``"192x256"`` -> (192, 256) (width, height); InputError otherwise."""
    parts = str(text).lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        w = h = 0
    if len(parts) != 2 or w < 1 or h < 1:
        raise InputError(f"expected WxH (e.g. 192x256), got {text!r}", field="input_size")
    return w, h

