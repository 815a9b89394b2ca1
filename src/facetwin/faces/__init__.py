"""Finding, following and aligning faces."""

from facetwin.faces.align import (
    MEAN_FACE,
    crop_from_frame,
    invert_affine,
    transform_points,
    umeyama,
    warp_to_crop,
)
from facetwin.faces.detect import DETECTORS, Detections, create_detector
from facetwin.faces.find import FaceFinder, FoundFace
from facetwin.faces.identity import IdentityEncoder, identity_distance
from facetwin.faces.landmarks import LandmarkPredictor
from facetwin.faces.review import FaceReview, crop_sharpness, order_for_review, review_faces
from facetwin.faces.track import FaceTracker, OneEuroFilter

__all__ = [
    "MEAN_FACE",
    "umeyama",
    "crop_from_frame",
    "invert_affine",
    "transform_points",
    "warp_to_crop",
    "DETECTORS",
    "Detections",
    "create_detector",
    "LandmarkPredictor",
    "IdentityEncoder",
    "identity_distance",
    "FaceTracker",
    "FaceFinder",
    "FoundFace",
    "OneEuroFilter",
    "FaceReview",
    "review_faces",
    "order_for_review",
    "crop_sharpness",
]
