"""Exceptions of daec-viz.

Every error that stems from a user's input carries the file and the field it concerns,
so the CLI and the app can print one clear line instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class DaecVizError(Exception):
    """Base class of all errors raised on purpose by daec-viz."""


class InputError(DaecVizError, ValueError):
    """Bad input: names the file (if any), the field and what was expected.

    Examples
    --------
    >>> str(InputError("expected shape (N, K, H, W), got (3, 4)", field="heatmaps",
    ...                path="run/heatmaps.h5"))
    'run/heatmaps.h5: field `heatmaps`: expected shape (N, K, H, W), got (3, 4)'
    """

    def __init__(self, message: str, *, field: str | None = None,
                 path: str | Path | None = None) -> None:
        self.message = message
        self.field = field
        self.path = None if path is None else str(path)
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.field:
            parts.append(f"field `{self.field}`")
        parts.append(self.message)
        return ": ".join(parts)


class DatasetError(InputError):
    """A dataset folder or heatmap cache is missing, malformed or inconsistent."""


class ModelNotInstalledError(DaecVizError, RuntimeError):
    """An optional model or package is missing; the message gives the pip command."""


class DataWarning(UserWarning):
    """The input is valid but the numbers it gives need a word: maps that are NaN/Inf or
    all <= 0 (decoded as invalid), ground truth that is all crowd, no results at all.

    The CLI prints each one as a ``warning:`` line on stderr; the app shows it with
    ``st.warning``. Raised with :func:`warn_data`, which names the file and the field like
    :class:`InputError`.
    """


def warn_data(message: str, *, field: str | None = None, path: str | Path | None = None,
              stacklevel: int = 2) -> None:
    """Emit a :class:`DataWarning` formatted like :class:`InputError` (file, field, text).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_data("3 of 40 maps hold NaN/Inf", field="heatmaps", path="run/heatmaps.h5")
    >>> str(w[0].message)
    'run/heatmaps.h5: field `heatmaps`: 3 of 40 maps hold NaN/Inf'
    """
    import warnings

    text = InputError(message, field=field, path=path).args[0]
    warnings.warn(DataWarning(text), stacklevel=stacklevel + 1)
