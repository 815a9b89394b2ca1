"""Shared fixtures: package-shipped portraits, and the real data beside the repo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (only on development machines)")
    return path


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """RGB uint8 (512, 512, 3): Eileen Collins, shipped inside scikit-image."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


@pytest.fixture(scope="session")
def grace_hopper_path() -> Path:
    """Path of matplotlib's sample portrait of Grace Hopper (JPEG, 600x512)."""
    import matplotlib.cbook

    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def grace_hopper(grace_hopper_path: Path) -> np.ndarray:
    from facetwin.io import read_image

    return read_image(grace_hopper_path)


@pytest.fixture(scope="session")
def predictor():
    from facetwin.faces import LandmarkPredictor

    return LandmarkPredictor()
