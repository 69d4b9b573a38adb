"""daec-viz: heatmap decoding for human pose estimation, measured and explained.

The public API is flat (``from daec_viz import decode, load_dataset, evaluate, ...``);
names are imported lazily so that ``import daec_viz`` stays fast.

Examples
--------
>>> import numpy as np
>>> from daec_viz import decode, METHODS
>>> METHODS
('standard', 'shifting', 'dark', 'daec')
>>> r = decode(np.zeros((2, 17, 64, 48), np.float32), method="daec", sigma=2.0, delta=4)
>>> r.coords.shape, bool(r.valid.any())
((2, 17, 2), False)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "decode": "daec_viz.decoding",
    "DecodeResult": "daec_viz.decoding",
    "METHODS": "daec_viz.decoding",
    "PATTERNS": "daec_viz.decoding",
    "gaussian_blur": "daec_viz.decoding",
    "to_image": "daec_viz.geometry",
    "to_heatmap": "daec_viz.geometry",
    "box_to_center_scale": "daec_viz.geometry",
    "CONVENTIONS": "daec_viz.geometry",
    "decode_daec_grid": "daec_viz.decoding",
    "HeatmapWriter": "daec_viz.io.writer",
    "load_dataset": "daec_viz.io.datasets",
    "Dataset": "daec_viz.io.datasets",
    "evaluate": "daec_viz.evaluation.scoring",
    "predict": "daec_viz.evaluation.predict",
    "Predictions": "daec_viz.evaluation.predict",
    "DecoderConfig": "daec_viz.decoding",
    "coco_keypoint_stats": "daec_viz.evaluation.coco_eval",
    "pckh": "daec_viz.evaluation.pckh",
    "run_sweep": "daec_viz.evaluation.sweep",
    "learn_delta": "daec_viz.evaluation.sweep",
    "analyse_errors": "daec_viz.analysis",
    "build_demo": "daec_viz.synthetic.demo",
    "ensure_demo": "daec_viz.synthetic.demo",
    "simulate_heatmaps": "daec_viz.synthetic.simulate",
    "NetworkKnobs": "daec_viz.synthetic.simulate",
    "DaecVizError": "daec_viz.exceptions",
    "InputError": "daec_viz.exceptions",
    "DatasetError": "daec_viz.exceptions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'daec_viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
