"""JSON helpers of the analysis results: finite floats or None (valid JSON)."""

from __future__ import annotations

from typing import Any

import numpy as np


def json_num(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def json_nums(a: np.ndarray) -> Any:
    """Array -> nested lists of floats, None where not finite (valid JSON)."""
    a = np.asarray(a, dtype=np.float64)
    obj = a.astype(object)
    obj[~np.isfinite(a)] = None
    return obj.tolist()


def jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
