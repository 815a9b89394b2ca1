"""Face detectors: dlib's HOG (the original code's) and OpenCV's YuNet.

Both return boxes in dlib's framing (brows to chin, roughly square), because the
68-point landmark predictor was trained on dlib boxes and loses accuracy on boxes
framed differently. YuNet's taller boxes are mapped with a fixed correction measured
on 214 faces found by both detectors (tools/calibrate_boxes.py).
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass
from typing import Literal, Protocol

import cv2
import numpy as np

from facetwin._check import check_choice, check_range
from facetwin.faces.models import model_path

__all__ = [
    "Detections",
    "Detector",
    "HogDetector",
    "YuNetDetector",
    "DETECTORS",
    "create_detector",
    "box_from_landmarks",
]

DetectorName = Literal["hog", "yunet"]

# Median dlib box relative to another box, as (left, top, right, bottom) fractions of
# that box's width/height. Measured on real faces; see the module docstring.
_YUNET_TO_DLIB = np.array([-0.033, 0.142, 1.044, 0.926])
_LANDMARKS_TO_DLIB = np.array([-0.015, -0.119, 1.033, 0.909])


@dataclass(frozen=True)
class Detections:
    """Faces found in one image.

    Attributes:
        boxes: (N, 4) float32 ``x0, y0, x1, y1`` in pixels, dlib framing.
        scores: (N,) float32 detector confidence (detector-specific scale).
    """

    boxes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))


class Detector(Protocol):
    name: str

    def __call__(self, image: np.ndarray) -> Detections:
        """Detect faces in an RGB uint8 (H, W, 3) image."""
        ...


def _reframe(boxes: np.ndarray, rel: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.stack(
        [
            boxes[:, 0] + rel[0] * w,
            boxes[:, 1] + rel[1] * h,
            boxes[:, 0] + rel[2] * w,
            boxes[:, 1] + rel[3] * h,
        ],
        axis=1,
    ).astype(np.float32)


def box_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """dlib-framed box (4,) around 68 landmarks, used to track a face to the next frame."""
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    return _reframe(np.concatenate([lo, hi])[None].astype(np.float64), _LANDMARKS_TO_DLIB)[0]


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector.

    Args:
        upsample: times the image is doubled before detection; each finds faces half
            as small (the smallest at 0 is about 80 px) and costs about 4x the time.
        threshold: SVM score threshold; dlib's default is 0.
    """

    name = "hog"

    def __init__(self, *, upsample: int = 0, threshold: float = 0.0) -> None:
        import dlib

        check_range(upsample, "upsample", low=0, high=3)
        self.upsample = upsample
        self.threshold = threshold
        self._detector = dlib.get_frontal_face_detector()

    def __call__(self, image: np.ndarray) -> Detections:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        # Given a strided view (padded rows, a mirror), dlib does not fail: it silently
        # finds nothing (measured: 0 faces in the astronaut, 1 once contiguous).
        rects, scores, _ = self._detector.run(np.ascontiguousarray(grey), self.upsample, self.threshold)
        if not rects:
            return Detections.empty()
        boxes = np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], np.float32)
        return Detections(boxes, np.asarray(scores, np.float32))


class YuNetDetector:
    """OpenCV's YuNet CNN detector (``cv2.FaceDetectorYN``), int8 model from a wheel.

    Args:
        score_threshold: minimum confidence in [0, 1].
        max_side: images are shrunk so their longer side is at most this before
            detection (YuNet's cost grows with pixels; faces stay findable down to
            about 10 px at this scale).
    """

    name = "yunet"

    def __init__(self, *, score_threshold: float = 0.6, max_side: int = 640) -> None:
        check_range(score_threshold, "score_threshold", low=0, high=1)
        check_range(max_side, "max_side", low=32)
        self.score_threshold = score_threshold
        self.max_side = max_side
        self._model = str(model_path("yunet"))
        # cv2's detector object is not safe to share between threads.
        self._local = threading.local()

    def _net(self) -> cv2.FaceDetectorYN:
        net = getattr(self._local, "net", None)
        if net is None:
            net = cv2.FaceDetectorYN.create(self._model, "", (320, 320), self.score_threshold, 0.3, 5000)
            self._local.net = net
        return net

    def __call__(self, image: np.ndarray) -> Detections:
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if scale < 1.0:
            bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        net = self._net()
        net.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = net.detect(bgr)
        if faces is None or len(faces) == 0:
            return Detections.empty()
        sx, sy = w / bgr.shape[1], h / bgr.shape[0]
        xywh = faces[:, :4].astype(np.float64) * [sx, sy, sx, sy]
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        return Detections(_reframe(boxes, _YUNET_TO_DLIB), faces[:, 14].astype(np.float32))


DETECTORS: dict[str, type] = {"hog": HogDetector, "yunet": YuNetDetector}


def create_detector(name: DetectorName, **options: object) -> Detector:
    """Build a detector by name (one of ``DETECTORS``) with its keyword options.

    >>> create_detector("hog", upsample=1).upsample
    1
    """
    check_choice(name, "detector", list(DETECTORS))
    cls = DETECTORS[name]
    accepted = [p for p in inspect.signature(cls).parameters]
    for key in options:
        check_choice(key, f"option of the {name} detector", accepted)
    return cls(**options)
