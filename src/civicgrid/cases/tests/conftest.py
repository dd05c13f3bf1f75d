"""Fixtures of the cases tests: uploads go to a temporary media directory; the policing grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from civicgrid.cases.tests.factories import Policing, policing


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def grid(world: Any) -> Policing:
    """world + the traffic grid with its responsible people and accounts."""
    return policing(world)
