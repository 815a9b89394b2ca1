"""Faces of one frame after another: detection, landmarks, following, identity filter.

Extraction and conversion find faces the same way, so both use ``FaceFinder``: the
detector searches whole frames every ``redetect_every`` frames and follows faces in
small windows in between (faces/track.py), landmarks are smoothed over time in videos,
faces under ``min_size`` are dropped and, with reference photos, faces of other people.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facetwin.errors import NoFaceFoundError
from facetwin.faces.detect import Detector, create_detector
from facetwin.faces.identity import IdentityEncoder, identity_distance
from facetwin.faces.landmarks import LandmarkPredictor
from facetwin.faces.track import FaceTracker
from facetwin.io.images import read_image

if TYPE_CHECKING:  # the fields FaceFinder reads; faces sits below the stage configs
    from facetwin.config import ExtractConfig

__all__ = ["FaceFinder", "FoundFace", "largest_face", "reference_identities"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoundFace:
    """One face in one frame.

    Attributes:
        track_id: the same number while a face is followed through a video.
        box: float (4,) x0, y0, x1, y1 in frame pixels, dlib framing.
        score: detector confidence.
        landmarks: float64 (68, 2) frame pixels (x, y), smoothed over time in videos.
        identity: float (128,) identity vector where one was computed this frame, else None.
    """

    track_id: int
    box: np.ndarray
    score: float
    landmarks: np.ndarray
    identity: np.ndarray | None


def largest_face(found: Sequence[FoundFace]) -> FoundFace:
    """The face with the largest box: the person a single-person clip or photo is about."""
    return max(found, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


class FaceFinder:
    """Finds the faces to keep in each frame, following them through a video.

    Args:
        config: the detection, following and filtering fields of an ``ExtractConfig``
            (its crop fields are not used here).
        video: frames are consecutive video frames (follow and smooth) rather than
            unrelated pictures (search each in full).

    Attributes:
        dropped_small, dropped_other_person: faces dropped so far, by reason.
    """

    def __init__(self, config: ExtractConfig, *, video: bool) -> None:
        self.config = config
        self.video = video
        detector, window_detector = _build_detectors(config)
        self.predictor = LandmarkPredictor()
        need_identity = bool(config.ref_faces) or config.identity
        self.encoder = IdentityEncoder() if need_identity else None
        self.refs = (
            reference_identities(config.ref_faces, detector, self.predictor, self.encoder)
            if config.ref_faces and self.encoder is not None
            else None
        )
        smooth = (
            {"min_cutoff": config.smooth_min_cutoff, "beta": config.smooth_beta} if config.smooth and video else None
        )
        self.tracker = FaceTracker(
            detector,
            self.predictor,
            redetect_every=config.redetect_every if video else 1,
            smooth=smooth,
            window_detector=window_detector,
        )
        self.dropped_small = 0
        self.dropped_other_person = 0

    def __call__(self, image: np.ndarray, time: float) -> list[FoundFace]:
        """The faces to keep in ``image`` (RGB uint8 HWC) shown at ``time`` seconds."""
        if not self.video:
            self.tracker.reset()  # unrelated pictures: nothing to follow
        kept = []
        for face in self.tracker.update(image, time):
            if float(face.box[2] - face.box[0]) < self.config.min_size:
                self.dropped_small += 1
                continue
            vector = None
            if self.encoder is not None:
                extra = self.tracker.track_extra(face.track_id)
                # Identity is ~75 ms a face (40x the landmarks): check a followed face when it
                # appears and at every full re-detection, not on every frame.
                recheck = face.new or "keep" not in extra or self.tracker.full_this_frame
                if self.config.identity or recheck:
                    vector = self.encoder(image, face.raw_landmarks)
                if self.refs is not None and recheck and vector is not None:
                    extra["keep"] = identity_distance(vector, self.refs) <= self.config.ref_threshold
                if self.refs is not None and not extra.get("keep", False):
                    self.dropped_other_person += 1
                    continue
            kept.append(FoundFace(face.track_id, face.box, face.score, face.landmarks, vector))
        return kept

    def state(self) -> dict[str, Any]:
        """What the finder remembers between frames, as JSON values (see ``FaceTracker.state``)."""
        return {
            "dropped_small": self.dropped_small,
            "dropped_other_person": self.dropped_other_person,
            "tracker": self.tracker.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from ``state()`` of a finder built with the same config.

        Raises:
            ValueError: ``state`` is not such a state; the message says where.
        """
        if not isinstance(state, dict):
            raise ValueError("expected an object")
        counts = [state.get("dropped_small"), state.get("dropped_other_person")]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
            raise ValueError(f"dropped_small, dropped_other_person: expected integers >= 0, got {counts}")
        try:
            self.tracker.restore(state.get("tracker"))
        except ValueError as exc:
            raise ValueError(f"tracker: {exc}") from None
        self.dropped_small, self.dropped_other_person = counts

    def no_face_hint(self) -> str:
        """Why no face was kept, when faces were found but dropped; else ''."""
        if self.dropped_other_person:
            return f"{self.dropped_other_person} faces of other people were dropped (--ref-threshold)"
        if self.dropped_small:
            return f"{self.dropped_small} faces smaller than --min-size were dropped"
        return ""


def reference_identities(
    paths: Sequence[str | Path], detector: Detector, predictor: LandmarkPredictor, encoder: IdentityEncoder
) -> np.ndarray:
    """Identity vectors (N, 128) of the largest face in each reference photo."""
    vectors = []
    for path in paths:
        image = read_image(path)
        found = detector(image)
        if not len(found):
            raise NoFaceFoundError(str(path), 1, "a reference photo must show the person's face")
        areas = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
        box = found.boxes[int(areas.argmax())]
        vectors.append(encoder(image, predictor(image, box)))
    return np.stack(vectors)


def _build_detectors(config: ExtractConfig) -> tuple[Detector, Detector]:
    if config.detector == "hog":
        # In a tracking window the face is scaled to ~100 px, so no upsampling is needed.
        return (
            create_detector("hog", upsample=config.hog_upsample),
            create_detector("hog", upsample=0),
        )
    det = create_detector("yunet", score_threshold=config.yunet_threshold)
    return det, det
