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
