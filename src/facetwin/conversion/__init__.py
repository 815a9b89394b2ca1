"""Stage 3, conversion: the per-face steps between the model and the written frame.

``convert`` runs a video, image or folder through ``FaceSwapper`` (``swap``), which per
face does: align -> model(to=A|B) -> mask (``masks``) -> colour (``colour``) -> warp
back -> blend (``blend``). ``metrics`` measures the result (seams, flicker)
so blending choices are measured rather than guessed.
"""

from facetwin.conversion.blend import alpha_blend, poisson_blend
from facetwin.conversion.colour import (
    COLOUR_MODES,
    ColourMode,
    apply_colour,
    colour_stats,
    lab_to_rgb,
    rgb_to_lab,
    transfer_colour,
)
from facetwin.conversion.masks import (
    MASK_MODES,
    MaskMode,
    combine_masks,
    landmark_hull_mask,
    refine_mask,
)
from facetwin.conversion.metrics import flicker_score, seam_score
from facetwin.conversion.pipeline import ConvertSummary, convert
from facetwin.conversion.preview import FramePreview, PreviewFrame
from facetwin.conversion.swap import FaceSwapper, SwapFace, model_window

__all__ = [
    "convert",
    "ConvertSummary",
    "FramePreview",
    "PreviewFrame",
    "FaceSwapper",
    "SwapFace",
    "model_window",
    # masks
    "MASK_MODES",
    "MaskMode",
    "landmark_hull_mask",
    "refine_mask",
    "combine_masks",
    # colour
    "COLOUR_MODES",
    "ColourMode",
    "rgb_to_lab",
    "lab_to_rgb",
    "colour_stats",
    "apply_colour",
    "transfer_colour",
    # blend
    "alpha_blend",
    "poisson_blend",
    # metrics
    "seam_score",
    "flicker_score",
]
