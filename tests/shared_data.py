"""Where the real test data lives: ``../shared/data`` next to the repository.

Tests that use it skip cleanly when it is absent (e.g. on a user's machine).
"""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COCO_MINI = SHARED_DATA / "coco-mini"
MPII_VALID = SHARED_DATA / "mpii-valid"
