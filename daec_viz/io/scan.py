"""Scanning a dataset's heatmaps for non-finite values (``daec-viz info --scan``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["scan_nonfinite"]


def scan_nonfinite(ds: Any, batch: int = 512, progress: bool = False) -> pd.DataFrame:
    """Find heatmaps holding NaN or Inf, streaming the cache.

    Returns a DataFrame with one row per affected (instance, joint): ``row`` (view row),
    ``joint`` (index), ``joint_name`` and ``count`` (number of non-finite pixels).
    Empty when every value is finite.
    """
    rows_out: list[np.ndarray] = []
    joints_out: list[np.ndarray] = []
    counts_out: list[np.ndarray] = []
    it = ds.iter_slices(batch=batch)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, total=-(-len(ds) // batch), unit="slice", desc="scanning heatmaps")
    for rows, hm in it:
        n, k = hm.shape[:2]
        count = (~np.isfinite(hm)).reshape(n, k, -1).sum(axis=-1)
        r, j = np.nonzero(count)
        if r.size:
            rows_out.append(rows[r])
            joints_out.append(j)
            counts_out.append(count[r, j])

    def cat(xs: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(xs).astype(np.int64) if xs else np.empty(0, dtype=np.int64)

    joints = cat(joints_out)
    names = np.asarray(ds.keypoint_names, dtype=object)
    return pd.DataFrame({"row": cat(rows_out), "joint": joints,
                         "joint_name": names[joints] if joints.size else
                         np.empty(0, dtype=object),
                         "count": cat(counts_out)})
