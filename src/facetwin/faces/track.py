"""Following faces through a video: windowed re-detection, scene cuts, smoothing.

Full-frame detection on every frame is what makes naive extraction slow (dlib HOG at
upsample 1 takes about 190 ms on a 512x512 frame). Faces move little between frames,
so a face found in one frame is looked for in the next only inside a small window
around its last position, shrunk so the face is about 100 px across: a few
milliseconds instead of hundreds, and still a real detection, so a face that leaves
or is covered is dropped rather than hallucinated. The whole frame is searched again
every ``redetect_every`` frames (to pick up faces that enter) and after a scene cut.

Landmarks are smoothed per track with a One Euro filter (Casiez et al., CHI 2012): a
low-pass filter whose cut-off rises with speed, so a still face does not jitter and a
moving one does not lag.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from facetwin._check import check_range
from facetwin.faces.detect import Detections, Detector, box_from_landmarks
from facetwin.faces.landmarks import LandmarkPredictor

__all__ = ["OneEuroFilter", "TrackedFace", "FaceTracker", "box_iou", "is_scene_cut"]


# A search window spans this many face widths on each side of the face's centre.
_WINDOW_HALF = 1.25


class OneEuroFilter:
    """One Euro filter over arrays, in units of a per-sample ``scale``.

    Speeds are measured in scales per second (for faces: face widths per second), so
    the same settings suit a 50 px face and a 500 px one.

    Args:
        min_cutoff: cut-off frequency in Hz at rest; lower is smoother and laggier.
        beta: how fast the cut-off rises with speed.
        d_cutoff: cut-off of the speed estimate itself.
    """

    def __init__(self, *, min_cutoff: float = 1.5, beta: float = 2.0, d_cutoff: float = 1.0) -> None:
        check_range(min_cutoff, "min_cutoff", low=0, low_open=True)
        check_range(beta, "beta", low=0)
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt / max(scale, 1e-6)
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        # One cut-off per point: a blink should not unsmooth the whole face.
        speed = np.linalg.norm(self._dx, axis=-1, keepdims=True) if x.ndim > 1 else np.abs(self._dx)
        cutoff = self.min_cutoff + self.beta * speed
        tau = 1.0 / (2 * math.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        self._x = a * x + (1 - a) * self._x
        self._t = t
        return self._x.copy()

    def state(self) -> dict[str, Any]:
        """The filter's memory as JSON values (exact: JSON keeps every float64 bit)."""
        return {
            "x": None if self._x is None else self._x.tolist(),
            "dx": None if self._dx is None else self._dx.tolist(),
            "t": self._t,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from ``state()`` of a filter with the same settings.

        Raises:
            ValueError: ``state`` is not such a state; the message says where.
        """
        if not isinstance(state, dict):
            raise ValueError("expected an object")
        t = state.get("t")
        if t is None:
            self._x = self._dx = self._t = None
            return
        x = _state_array(state.get("x"), "x", np.float64)
        dx = _state_array(state.get("dx"), "dx", np.float64, x.shape)
        self._x, self._dx, self._t = x, dx, _state_number(t, "t")


def _state_array(value: Any, where: str, dtype: type, shape: tuple[int, ...] | None = None) -> np.ndarray:
    try:
        arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected an array of numbers") from None
    if arr.ndim == 0 or (shape is not None and arr.shape != shape) or not np.isfinite(arr).all():
        expected = f"finite numbers of shape {shape}" if shape is not None else "an array of finite numbers"
        raise ValueError(f"{where}: expected {expected}, got shape {arr.shape}")
    return arr


def _state_number(value: Any, where: str, *, integral: bool = False) -> Any:
    kinds = (int,) if integral else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or (integral and value < 0):
        raise ValueError(f"{where}: expected {'an integer >= 0' if integral else 'a finite number'}, got {value!r:.60}")
    return value


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes (N, 4) and (M, 4), as (N, M).

    >>> box_iou(np.array([[0, 0, 2, 2.]]), np.array([[1, 0, 3, 2.], [5, 5, 6, 6.]]))
    array([[0.33333333, 0.        ]])
    """
    a = np.asarray(a, np.float64)[:, None]
    b = np.asarray(b, np.float64)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def _thumb(image: np.ndarray) -> np.ndarray:
    # Every 4th pixel is plenty for a 64x36 layout summary and 16x cheaper to shrink.
    small = cv2.resize(image[::4, ::4], (64, 36), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small
    return grey.astype(np.float32)


def is_scene_cut(previous_thumb: np.ndarray | None, thumb: np.ndarray, threshold: float = 0.65) -> bool:
    """A cut between two 64x36 grey thumbnails.

    Each thumbnail is normalised to zero mean and unit spread before comparing, so a
    camera flash or fade (a global change of brightness) is not taken for a cut; what
    remains is a change of layout. Measured on multi_stiller_wilson.mp4 (press
    flashes, four cuts): cuts score 0.71-0.86, flashes and motion at most 0.62;
    talking heads stay under 0.3.
    """
    if previous_thumb is None:
        return False

    def normalised(t: np.ndarray) -> np.ndarray:
        return (t - t.mean()) / (t.std() + 1e-3)

    return float(np.abs(normalised(thumb) - normalised(previous_thumb)).mean()) > threshold


@dataclass
class TrackedFace:
    """One face in one frame.

    Attributes:
        track_id: stays the same while the face is followed from frame to frame.
        box: (4,) float32 detection box, dlib framing.
        score: detector confidence.
        landmarks: (68, 2) float32, smoothed over time when tracking.
        raw_landmarks: (68, 2) float32 as predicted on this frame alone.
        new: True on the first frame of the track.
    """

    track_id: int
    box: np.ndarray
    score: float
    landmarks: np.ndarray
    raw_landmarks: np.ndarray
    new: bool


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    filter: OneEuroFilter
    age: int = 0
    extra: dict = field(default_factory=dict)


class FaceTracker:
    """Finds faces frame by frame, following each through time.

    Args:
        detector: any ``Detector``.
        predictor: 68-point landmark predictor.
        redetect_every: full-frame detection period in frames (1 = every frame).
        smooth: One Euro settings (``min_cutoff``, ``beta``) or None for no smoothing.
        window_face_px: size a face is scaled to inside the search window; default
            64 for YuNet, 100 for dlib HOG (which finds faces from about 80 px).
        window_detector: detector for the search windows (defaults to ``detector``);
            windows need no upsampling, full frames may.
    """

    def __init__(
        self,
        detector: Detector,
        predictor: LandmarkPredictor,
        *,
        redetect_every: int = 10,
        smooth: dict[str, float] | None = None,
        window_face_px: int | None = None,
        window_detector: Detector | None = None,
    ) -> None:
        check_range(redetect_every, "redetect_every", low=1)
        self.detector = detector
        self.window_detector = window_detector or detector
        self.full_this_frame = False
        self.predictor = predictor
        self.redetect_every = redetect_every
        self.smooth = {} if smooth is None else dict(smooth)
        self.smoothing = smooth is not None
        # HOG finds faces from about 80 px; YuNet from about 20, so it can search a
        # smaller (cheaper) window.
        if window_face_px is None:
            window_face_px = 64 if getattr(self.window_detector, "name", "") == "yunet" else 100
        self.window_face_px = window_face_px
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._since_full = 0
        self._thumb: np.ndarray | None = None
        self.full_detections = 0
        self.window_detections = 0

    def reset(self) -> None:
        """Forget every track (for example at a seek)."""
        self._tracks = []
        self._since_full = 0
        self._thumb = None

    def _detect_in_window(self, image: np.ndarray, box: np.ndarray) -> Detections:
        # The window is always the same size (faces scaled to window_face_px, the rest
        # padded): the CNN then keeps one input shape instead of being re-planned for
        # every frame, which alone cost YuNet about 1 ms a call.
        h, w = image.shape[:2]
        size = int(round(self.window_face_px * 2 * _WINDOW_HALF))
        side = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = side * _WINDOW_HALF
        wx0, wy0 = cx - half, cy - half
        x0, y0 = int(max(0, np.floor(wx0))), int(max(0, np.floor(wy0)))
        x1, y1 = int(min(w, np.ceil(cx + half))), int(min(h, np.ceil(cy + half)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return Detections.empty()
        scale = size / (2 * half)
        rw, rh = max(1, min(size, round((x1 - x0) * scale))), max(1, min(size, round((y1 - y0) * scale)))
        region = image[y0:y1, x0:x1]
        if scale < 0.5:
            # Skip pixels down to twice the target size first: area-averaging the full
            # region cost more than the detection itself.
            step = int(0.5 / scale)
            region = region[::step, ::step]
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        region = cv2.resize(region, (rw, rh), interpolation=interp)
        left = min(size - rw, max(0, round((x0 - wx0) * scale)))
        top = min(size - rh, max(0, round((y0 - wy0) * scale)))
        window = cv2.copyMakeBorder(region, top, size - rh - top, left, size - rw - left, cv2.BORDER_CONSTANT, value=0)
        found = self.window_detector(window)
        self.window_detections += 1
        if not len(found):
            return found
        sx, sy = rw / (x1 - x0), rh / (y1 - y0)  # the scale actually applied, per axis
        boxes = (found.boxes - np.array([left, top, left, top], np.float32)) / np.array([sx, sy, sx, sy])
        boxes = boxes + np.array([x0, y0, x0, y0], np.float32)
        return Detections(boxes.astype(np.float32), found.scores)

    def update(self, image: np.ndarray, t: float) -> list[TrackedFace]:
        """Faces in the next frame ``image`` (RGB uint8) at time ``t`` seconds."""
        thumb = _thumb(image)
        if is_scene_cut(self._thumb, thumb):
            self._tracks = []  # a face in a new shot is a new track: no smoothing across
        self._thumb = thumb

        full = None
        if not self._tracks or self._since_full >= self.redetect_every - 1:
            full = self.detector(image)
            self.full_detections += 1
            self.full_this_frame = True
            self._since_full = 0
        else:
            self._since_full += 1
            self.full_this_frame = False

        results: list[TrackedFace] = []
        kept: list[_Track] = []
        taken = np.zeros(len(full) if full is not None else 0, bool)
        for track in self._tracks:
            found = None
            if full is not None and len(full):
                iou = box_iou(track.box[None], full.boxes)[0]
                iou[taken] = 0
                j = int(iou.argmax())
                if iou[j] > 0.3:
                    taken[j] = True
                    found = (full.boxes[j], float(full.scores[j]))
            if found is None:
                local = self._detect_in_window(image, track.box)
                if len(local):
                    j = int(box_iou(track.box[None], local.boxes)[0].argmax())
                    found = (local.boxes[j], float(local.scores[j]))
            if found is None:
                continue  # lost: left the frame, turned away or covered
            track.age += 1
            kept.append(track)
            results.append(self._measure(image, track, found[0], found[1], t, new=False))

        if full is not None:
            for j in np.flatnonzero(~taken):
                box = full.boxes[j]
                if any(box_iou(box[None], k.box[None])[0, 0] > 0.5 for k in kept):
                    continue
                track = _Track(self._next_id, box, OneEuroFilter(**self.smooth))
                self._next_id += 1
                kept.append(track)
                results.append(self._measure(image, track, box, float(full.scores[j]), t, new=True))
        self._tracks = kept
        return results

    def _measure(
        self, image: np.ndarray, track: _Track, box: np.ndarray, score: float, t: float, *, new: bool
    ) -> TrackedFace:
        raw = self.predictor(image, box)
        if self.smoothing:
            size = float(max(box[2] - box[0], 1.0))
            smooth = track.filter(raw, t, scale=size).astype(np.float32)
        else:
            smooth = raw
        # Follow the face with the landmarks' box: it is steadier than detector boxes.
        track.box = box_from_landmarks(raw)
        return TrackedFace(track.track_id, np.asarray(box, np.float32), score, smooth, raw, new)

    def track_extra(self, track_id: int) -> dict:
        """A per-track dict where callers keep their own state (identity decisions).

        Keep JSON values in it (``state`` saves it as they are).
        """
        for track in self._tracks:
            if track.track_id == track_id:
                return track.extra
        return {}

    def state(self) -> dict[str, Any]:
        """Everything the tracker remembers between frames, as JSON values.

        The tracks (box, smoothing filter, age, extra), the next track id, the frames
        since the last full search and the last frame's thumbnail (scene cuts). A
        tracker with the same settings given it by ``restore`` continues exactly as
        this one would have: an interrupted extraction resumes bit for bit. Floats go
        through JSON unchanged (shortest repr that reads back to the same float64).
        """
        return {
            "next_id": self._next_id,
            "since_full": self._since_full,
            "full_detections": self.full_detections,
            "window_detections": self.window_detections,
            "tracks": [
                {
                    "id": t.track_id,
                    "box": t.box.tolist(),
                    "age": t.age,
                    "extra": copy.deepcopy(t.extra),
                    "filter": t.filter.state(),
                }
                for t in self._tracks
            ],
            # Last: 2,304 numbers (the 64x36 grey thumbnail).
            "thumb": None if self._thumb is None else self._thumb.tolist(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from ``state()`` of a tracker built with the same settings.

        Raises:
            ValueError: ``state`` is not such a state; the message says where.
        """
        if not isinstance(state, dict):
            raise ValueError("expected an object")
        tracks = []
        entries = state.get("tracks")
        if not isinstance(entries, list):
            raise ValueError("tracks: expected a list")
        for i, entry in enumerate(entries):
            where = f"tracks[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("extra"), dict):
                raise ValueError(f"{where}: expected an object with an extra object")
            smoother = OneEuroFilter(**self.smooth)
            try:
                smoother.restore(entry.get("filter"))
            except ValueError as exc:
                raise ValueError(f"{where}.filter: {exc}") from None
            tracks.append(
                _Track(
                    _state_number(entry.get("id"), f"{where}.id", integral=True),
                    _state_array(entry.get("box"), f"{where}.box", np.float32, (4,)),
                    smoother,
                    _state_number(entry.get("age"), f"{where}.age", integral=True),
                    copy.deepcopy(entry["extra"]),
                )
            )
        thumb = state.get("thumb")
        thumb = None if thumb is None else _state_array(thumb, "thumb", np.float32, (36, 64))
        counts = [
            _state_number(state.get(key), key, integral=True)
            for key in ("next_id", "since_full", "full_detections", "window_detections")
        ]
        # Only now, all checked: a damaged state leaves the tracker as it was.
        self._tracks, self._thumb = tracks, thumb
        self._next_id, self._since_full, self.full_detections, self.window_detections = counts
