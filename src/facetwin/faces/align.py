"""Face alignment: a similarity transform from frame pixels to an aligned crop.

Convention (everywhere in this module):
    Points are (x, y) in pixels with pixel centres on integer coordinates (OpenCV's
    convention). A face's geometry is one 2x3 matrix ``M`` taking frame pixels to crop
    pixels at a stated crop size: ``crop_xy = M[:, :2] @ frame_xy + M[:, 2]``. Its
    inverse is computed when needed (``invert_affine``), never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facetwin._check import check_array, check_choice, check_range

__all__ = [
    "MEAN_FACE",
    "MEAN_JAW",
    "ALIGN_POINTS",
    "FaceType",
    "FACE_TYPES",
    "face_type",
    "face_window",
    "umeyama",
    "crop_from_frame",
    "invert_affine",
    "transform_points",
    "warp_to_crop",
    "matrix_scale",
]

#: Indices of the 51 non-jaw points of the 68-point scheme used for alignment; the jaw
#: line moves with the mouth and head turn, so fitting it would tilt the crop.
ALIGN_POINTS = np.arange(17, 68)

#: Mean shape of the 51 non-jaw landmarks, scaled uniformly into the unit square and
#: centred on (0.5, 0.5). Our own estimate: generalised Procrustes analysis of dlib's
#: 68 landmarks on 758 real faces (tools/derive_mean_face.py), rotated so the eyes are
#: level. Uniform scaling keeps the face's aspect, so crops are not squashed.
# fmt: off
MEAN_FACE = np.array(
    [
        [0.0000, 0.1317], [0.0754, 0.0529], [0.1876, 0.0241], [0.3065, 0.0333],
        [0.4196, 0.0699], [0.5835, 0.0663], [0.6961, 0.0273], [0.8147, 0.0179],
        [0.9264, 0.0479], [1.0000, 0.1293], [0.4992, 0.1914], [0.4980, 0.3037],
        [0.4967, 0.4156], [0.4950, 0.5317], [0.3686, 0.6117], [0.4285, 0.6336],
        [0.4944, 0.6519], [0.5600, 0.6339], [0.6196, 0.6126], [0.1250, 0.2181],
        [0.1900, 0.1828], [0.2662, 0.1817], [0.3338, 0.2257], [0.2629, 0.2395],
        [0.1876, 0.2412], [0.6624, 0.2258], [0.7308, 0.1814], [0.8064, 0.1827],
        [0.8696, 0.2185], [0.8085, 0.2412], [0.7339, 0.2396], [0.2652, 0.8568],
        [0.3439, 0.8040], [0.4292, 0.7785], [0.4926, 0.7938], [0.5566, 0.7785],
        [0.6411, 0.8039], [0.7189, 0.8559], [0.6433, 0.9360], [0.5606, 0.9740],
        [0.4912, 0.9821], [0.4222, 0.9751], [0.3392, 0.9380], [0.3016, 0.8562],
        [0.4284, 0.8298], [0.4924, 0.8360], [0.5569, 0.8297], [0.6817, 0.8556],
        [0.5579, 0.8905], [0.4918, 0.8997], [0.4264, 0.8914],
    ],
    dtype=np.float64,
)
# fmt: on
MEAN_FACE.flags.writeable = False

#: Mean position of the 17 jaw points (0-16) in the same units, after the 51 points are
#: fitted onto ``MEAN_FACE``: chin tip at y 1.27, jaw ends 0.15 outside the brows. Our
#: measurement over 4 people's footage (every 10th face of ../shared/data's talking_d3,
#: talking_d13, portrait_s18, talking_obama); used to draw where a whole face ends.
# fmt: off
MEAN_JAW = np.array(
    [
        [-0.146, 0.255], [-0.141, 0.420], [-0.124, 0.585], [-0.092, 0.748], [-0.038, 0.901],
        [0.054, 1.040], [0.175, 1.156], [0.316, 1.246], [0.479, 1.273], [0.638, 1.243],
        [0.771, 1.148], [0.881, 1.029], [0.967, 0.888], [1.022, 0.735], [1.062, 0.575],
        [1.089, 0.413], [1.099, 0.249],
    ],
    dtype=np.float64,
)
# fmt: on
MEAN_JAW.flags.writeable = False


@dataclass(frozen=True)
class FaceType:
    """Which part of the face a model sees and paints: a square window on the mean face.

    Attributes:
        name: "inner" or "whole".
        span: the window's side in mean-face units (``MEAN_FACE`` spans 1 from the outer
            brow ends across and from the brows to the lower lip down).
        centre: the mean-face point (x, y) at the window's centre.

    The window of a face in a frame is ``face_window(landmarks, size, face_type)``;
    training faces are cut to the same window (``facetwin.data.frame_faces``), so what a
    model learns and where conversion puts it back always agree.
    """

    name: str
    span: float
    centre: tuple[float, float]

    def to_json(self) -> dict:
        return {"type": self.name, "span": self.span, "centre": list(self.centre)}

    @classmethod
    def from_json(cls, doc: dict) -> FaceType:
        return cls(str(doc["type"]), float(doc["span"]), (float(doc["centre"][0]), float(doc["centre"][1])))


#: "inner": brows to lips, outer brow to outer brow: the original code's window (its
#: 160 px of a 256 px crop at coverage 0.625). "whole": chin to mid-forehead, cheeks and
#: jaw line inside with a margin: y from -0.40 to 1.35 (chin 1.27), x from -0.375 to
#: 1.375 (jaw 1.10). Chosen by measurement (docs/BENCHMARKS.md, "Face types").
FACE_TYPES: dict[str, FaceType] = {
    "inner": FaceType("inner", 1.0, (0.5, 0.5)),
    "whole": FaceType("whole", 1.75, (0.5, 0.475)),
}


def face_type(name: str) -> FaceType:
    """The face type called ``name`` (one of ``FACE_TYPES``)."""
    check_choice(name, "face type", list(FACE_TYPES))
    return FACE_TYPES[name]


def umeyama(src: np.ndarray, dst: np.ndarray, *, estimate_scale: bool = True) -> np.ndarray:
    """Least-squares similarity transform taking ``src`` points onto ``dst`` points.

    Umeyama (1991), "Least-squares estimation of transformation parameters between
    two point patterns": closed form through the SVD of the cross-covariance, with the
    reflection correction so the result is always a proper rotation.

    Args:
        src: (N, 2) points, N >= 2.
        dst: (N, 2) corresponding points.
        estimate_scale: fit a uniform scale; otherwise a rigid transform.

    Returns:
        (3, 3) float64 homogeneous matrix ``T`` with ``dst ~ T @ [x, y, 1]``.

    Convention: (x, y) points; the matrix acts on column vectors.

    >>> src = np.array([[0, 0], [1, 0], [0, 1]], float)
    >>> np.round(umeyama(src, 2 * src + [3, 4]), 6)[:2]
    array([[2., 0., 3.],
           [0., 2., 4.]])
    """
    src = check_array(np.asarray(src, dtype=np.float64), "src", ["N", 2])
    dst = check_array(np.asarray(dst, dtype=np.float64), "dst", [len(src), 2])
    check_range(len(src), "number of points", low=2)
    mu_src, mu_dst = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - mu_src, dst - mu_dst
    cov = dst_c.T @ src_c / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0  # the best orthogonal fit is a reflection; flip to a rotation
    rotation = u @ np.diag(d) @ vt
    var_src = (src_c**2).sum() / len(src)
    scale = float(sigma @ d / var_src) if estimate_scale and var_src > 0 else 1.0
    out = np.eye(3)
    out[:2, :2] = scale * rotation
    out[:2, 2] = mu_dst - scale * rotation @ mu_src
    return out


def crop_from_frame(
    landmarks: np.ndarray,
    *,
    crop_size: int = 256,
    coverage: float = 0.625,
    centre: tuple[float, float] = (0.5, 0.5),
) -> np.ndarray:
    """Matrix taking frame pixels to an aligned crop of the face with these landmarks.

    The 51 non-jaw landmarks are fitted (Umeyama) onto ``MEAN_FACE`` scaled to span
    ``coverage`` of the crop and centred in it. The default 0.625 (160 of 256 pixels)
    is the original face-swap code's framing: brows to lips fill the central part and
    chin, cheeks and forehead fit around them.

    Args:
        landmarks: (68, 2) frame coordinates.
        crop_size: side of the square crop in pixels.
        coverage: fraction of the crop side spanned by the mean face, in (0, 1.5].
        centre: the mean-face point that lands on the crop's centre.

    Returns:
        (2, 3) float64 matrix, frame pixels -> crop pixels.

    Convention: (x, y); pixel centres at integers; the crop's centre is
    ``(crop_size - 1) / 2``.
    """
    landmarks = check_array(np.asarray(landmarks, dtype=np.float64), "landmarks", [68, 2])
    check_range(crop_size, "crop_size", low=8)
    check_range(coverage, "coverage", low=0, high=1.5, low_open=True)
    target = (MEAN_FACE - np.asarray(centre, np.float64)) * (crop_size * coverage) + (crop_size - 1) / 2
    return umeyama(landmarks[ALIGN_POINTS], target)[:2]


def face_window(landmarks: np.ndarray, size: int, face: FaceType) -> np.ndarray:
    """Matrix (2, 3), frame pixels -> the ``size`` x ``size`` window of face type ``face``.

    Convention: as ``crop_from_frame``.
    """
    return crop_from_frame(landmarks, crop_size=size, coverage=1.0 / face.span, centre=face.centre)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix, as a 2x3 matrix.

    >>> m = np.array([[2.0, 0, 5], [0, 2.0, -1]])
    >>> invert_affine(m)
    array([[ 0.5,  0. , -2.5],
           [ 0. ,  0.5,  0.5]])
    """
    matrix = check_array(np.asarray(matrix, dtype=np.float64), "matrix", [2, 3])
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 matrix to (N, 2) points; returns float64 (N, 2).

    >>> transform_points(np.array([[1.0, 1.0]]), np.array([[2.0, 0, 1], [0, 2.0, 0]]))
    array([[3., 2.]])
    """
    points = check_array(np.asarray(points, dtype=np.float64), "points", ["N", 2])
    matrix = check_array(np.asarray(matrix, dtype=np.float64), "matrix", [2, 3])
    return points @ matrix[:, :2].T + matrix[:, 2]


def matrix_scale(matrix: np.ndarray) -> float:
    """Uniform scale of a similarity matrix (crop pixels per frame pixel)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))


def warp_to_crop(frame: np.ndarray, matrix: np.ndarray, crop_size: int) -> np.ndarray:
    """Cut the aligned crop out of ``frame`` (RGB or grey uint8, HWC).

    Where the face is much larger in the frame than in the crop, the frame is first
    shrunk by area averaging: a bilinear warp would otherwise skip pixels and alias
    (visible as sparkle on hair and stubble). Outside the frame the border is
    replicated rather than black, so a face at the edge does not get a hard black
    wedge that training would learn as part of the face.

    Returns:
        (crop_size, crop_size[, C]) uint8.
    """
    frame = np.asarray(frame)
    check_array(frame, "frame", ["H", "W"] if frame.ndim == 2 else ["H", "W", "C"], dtypes=[np.uint8])
    matrix = check_array(np.asarray(matrix, dtype=np.float64), "matrix", [2, 3])
    # cv2.warpAffine reads a size of 0 as "same as the input" and returns the wrong shape.
    check_range(crop_size, "crop_size", low=1)
    scale = matrix_scale(matrix)
    check_range(scale, "scale of matrix", low=0, low_open=True)
    if scale < 0.5:
        factor = int(np.floor(1.0 / scale))
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
        # Pixel centres: frame x maps to small (x + 0.5) / f' - 0.5 with f' per axis.
        fx, fy = small.shape[1] / w, small.shape[0] / h
        to_small = np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1]])
        matrix = (np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(to_small))[:2]
        frame = small
    # Bicubic only where it matters, when enlarging a small face; for shrinking,
    # bilinear looks the same and is 3.7x faster (0.46 against 1.71 ms for 256 px).
    flags = cv2.INTER_CUBIC if matrix_scale(matrix) > 1.0 else cv2.INTER_LINEAR
    return cv2.warpAffine(frame, matrix, (crop_size, crop_size), flags=flags, borderMode=cv2.BORDER_REPLICATE)
