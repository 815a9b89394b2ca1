"""Shared fixtures: package-shipped portraits, and the real data beside the repo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _helpers import SHARED_DATA, shared_data, shifted, write_video  # noqa: F401  (re-exported)


def pytest_configure(config) -> None:
    # Tests run tiny models: one torch thread avoids oversubscribing the shared cores,
    # which made small steps hundreds of times slower.
    import torch

    torch.set_num_threads(1)
    # Outputs are signed (C2PA) with a key made on first use: the tests' own, never the user's.
    import os
    import tempfile

    os.environ["FACETWIN_KEY_DIR"] = tempfile.mkdtemp(prefix="facetwin-test-key-")


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


@pytest.fixture(scope="session")
def moving_video(tmp_path_factory, astronaut) -> Path:
    """12 frames of the astronaut drifting right and down, 256x256, 25 fps."""
    small = astronaut[:320, 64:384]
    frames = [shifted(small, 1.5 * i, 0.7 * i)[32:288, 32:288] for i in range(12)]
    return write_video(tmp_path_factory.mktemp("video") / "moving.mp4", frames)


@pytest.fixture(scope="session")
def padded_video(tmp_path_factory, astronaut) -> Path:
    """6 frames 642x488 of the astronaut drifting right: FFmpeg pads each decoded row
    (642 x 3 = 1,926 bytes to 1,968), so PyAV hands back strided arrays."""
    canvas = np.full((488, 642, 3), 40, np.uint8)
    canvas[:, 65:577] = astronaut[12:500]
    frames = [np.ascontiguousarray(shifted(canvas, 2.0 * i, 0.0)) for i in range(6)]
    return write_video(tmp_path_factory.mktemp("video") / "padded.mp4", frames)


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_as_in_a_terminal():
    """Ctrl-C raises KeyboardInterrupt, as in a terminal, even when the tests run in the
    background: a shell starts background jobs (nohup, `cmd &`, some CI runners) with
    SIGINT ignored, and Python then keeps it ignored; the tests of held interrupts send
    themselves SIGINT and expect Python's own handler."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
