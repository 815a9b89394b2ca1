"""Training data: face sets in memory and batched augmentation."""

from facetwin.data.augment import AugmentConfig, Augmented, augment_batch, umeyama_batched
from facetwin.data.dataset import MIN_FACES, Faces, load_faces, match_mean_colour

__all__ = [
    "AugmentConfig",
    "Augmented",
    "augment_batch",
    "umeyama_batched",
    "Faces",
    "load_faces",
    "match_mean_colour",
    "MIN_FACES",
]
