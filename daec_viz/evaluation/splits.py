"""Which instances a number is computed on: the one home of the split rules.

- ``"all"`` means every instance, unless the data has a split named ``all``.
- Numbers are *reported* on ``test`` when the dataset has one, else on ``all``
  (:func:`report_split`).
- Δ is *learned* on ``train`` and reported on ``test`` (:func:`learn_splits`); a dataset
  without splits learns and reports on ``all`` and says so (``in_sample``: the gain is
  then optimistic); a dataset with other splits must name them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from daec_viz.exceptions import InputError

__all__ = ["split_indices", "report_split", "learn_splits"]


def split_indices(dataset: Any, split: str) -> np.ndarray:
    """(n,) row indices of ``split`` in ``dataset``; :class:`InputError` when the split
    has no instances."""
    if split == "all" and "all" not in dataset.splits:
        return np.arange(len(dataset))
    rows = np.flatnonzero(dataset.instances["split"].to_numpy() == split)
    if rows.size == 0:
        raise InputError(f"split {split!r} has no instances; this dataset has "
                         f"{dataset.splits}", field="split", path=getattr(dataset, "path", None))
    return rows


def report_split(dataset: Any) -> str:
    """The split numbers are reported on: ``test`` when there is one, else ``all``."""
    return "test" if "test" in dataset.splits else "all"


def learn_splits(dataset: Any, train: str = "train", test: str = "test"
                 ) -> tuple[str, str, bool]:
    """``(train, test, in_sample)``: where Δ is learned and where it is reported.

    Without splits (only ``all``) both are ``all`` and ``in_sample`` is True. With
    splits, ``train`` and ``test`` must exist (or be ``all``).
    """
    have = list(dataset.splits)
    if set(have) == {"all"}:
        return "all", "all", True
    missing = [s for s in (train, test) if s not in have and s != "all"]
    if missing:
        raise InputError(f"split(s) {missing} not in this dataset (it has {have}); pass "
                         f"train= and test=", field="split", path=getattr(dataset, "path", None))
    return train, test, train == test
