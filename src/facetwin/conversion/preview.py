"""One frame converted with given settings, for tuning them before a whole conversion.

``FramePreview`` loads the model once and finds each asked-for frame's faces once, so
trying another mask, colour or blend setting costs one ``FaceSwapper`` pass: well under
a second on a CPU for a small model, fast enough to follow a slider.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.conversion.direction import direction
from facetwin.conversion.swap import FaceSwapper, SwapFace
from facetwin.device import pick_device, use_bf16
from facetwin.errors import InvalidOptionError
from facetwin.faces.find import FaceFinder
from facetwin.io.media import open_media
from facetwin.models.checkpoint import load_model

__all__ = ["FramePreview", "PreviewFrame"]

#: Decoded frames (and their faces) kept for going back and forth between a few.
_CACHED_FRAMES = 4


@dataclass(frozen=True)
class PreviewFrame:
    """``before`` and ``after`` RGB uint8 (H, W, 3); ``mask`` float32 (H, W) in [0, 1].

    ``after`` is not yet watermarked: write it with
    ``facetwin.forensics.provenance.write_marked_png`` (as conversion writes frames).
    """

    index: int
    before: np.ndarray
    after: np.ndarray
    mask: np.ndarray
    faces: int


class FramePreview:
    """Swap the faces of one frame of ``inputs`` (a video, an image or a folder).

    Args:
        inputs: what ``convert`` would be given.
        model_dir: a folder written by ``facetwin train``.
        faces: how faces are found, as in ``convert``.
        device: "auto", "cpu", "cuda".

    Raises:
        FacetwinError subclasses for unreadable input or a bad model folder.
    """

    def __init__(
        self,
        inputs: str | Path,
        model_dir: str | Path,
        *,
        faces: ExtractConfig | None = None,
        device: str = "auto",
    ) -> None:
        self.inputs = Path(inputs)
        with open_media(self.inputs) as source:
            self.frame_count = max(source.frame_count, 1)
        self.device = pick_device(device)
        self.model = load_model(model_dir, device=self.device)
        self.model_dir = Path(model_dir)
        # Each frame is searched in full: a single frame has nothing to follow.
        self._finder = FaceFinder(faces or ExtractConfig(), video=False)
        self._frames: dict[int, tuple[np.ndarray, list[SwapFace]]] = {}

    def frame(self, index: int) -> tuple[np.ndarray, list[SwapFace]]:
        """Frame ``index`` (RGB uint8) and its faces, decoded and found once."""
        if not 0 <= index < self.frame_count:
            raise InvalidOptionError("frame", index, f"a frame number from 0 to {self.frame_count - 1}")
        if index not in self._frames:
            with open_media(self.inputs) as source:
                frame = next(source.frames(start=index), None)
            if frame is None:  # a frame count read from the header can overshoot
                raise InvalidOptionError("frame", index, "a frame the input has (it ends earlier than it says)")
            found = [SwapFace(f.landmarks, f.track_id, f.box) for f in self._finder(frame.image, 0.0)]
            if len(self._frames) >= _CACHED_FRAMES:
                self._frames.pop(next(iter(self._frames)))
            self._frames[index] = (frame.image, found)
        return self._frames[index]

    def swap(self, index: int, config: ConvertConfig | None = None) -> PreviewFrame:
        """Frame ``index`` before and after swapping with ``config``."""
        config = config or ConvertConfig()
        if config.to == "auto":
            config = replace(config, to=direction(self.inputs, self.model_dir)[0])
        image, found = self.frame(index)
        swapper = FaceSwapper(self.model, config, bf16=use_bf16(config.precision, self.device))
        after, mask = swapper.swap(image, found)
        return PreviewFrame(index, image, after, mask, len(found))
