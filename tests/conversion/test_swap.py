import cv2
import numpy as np
import pytest
import torch
from torch import nn

from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.conversion.swap import FaceSwapper, SwapFace, model_face, model_window
from facetwin.errors import InvalidOptionError
from facetwin.faces import FaceFinder
from facetwin.models import SwapModel


class _Tint(nn.Module):
    """Decoder that returns its input, optionally tinted: a swap whose result is known."""

    def __init__(self, tint=(0.0, 0.0, 0.0)):
        super().__init__()
        self.register_buffer("tint", torch.tensor(tint).view(1, 3, 1, 1))

    def forward(self, x):
        return (x + self.tint).clamp(0, 1)


def _identity_model(size=64, tint_a=(0.0, 0.0, 0.0)):
    return SwapModel(nn.Identity(), _Tint(tint_a), _Tint(), input_size=size, predicts_mask=False)


@pytest.fixture(scope="module")
def astronaut_face(astronaut):
    (face,) = FaceFinder(ExtractConfig(), video=False)(astronaut, 0.0)
    return SwapFace(face.landmarks, face.track_id)


def _masked_error(a, b, mask):
    diff = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)
    return float((diff * mask).sum() / mask.sum())


def test_a_face_swapped_through_an_identity_model_lands_on_its_own_pixels(astronaut, astronaut_face):
    config = ConvertConfig(colour="none", feather=0.0)
    swapped, mask = FaceSwapper(_identity_model(128), config).swap(astronaut, [astronaut_face])
    assert swapped.shape == astronaut.shape and swapped.dtype == np.uint8
    region = mask > 0.99
    assert region.sum() > 55 * 55  # the inner face, brows to lips (faded near the window edge)
    error = _masked_error(swapped, astronaut, region)
    # Down to 128 px and back costs detail, not position: the result is far closer to the
    # frame than the frame is to itself moved by 1.5 pixels.
    moved = cv2.warpAffine(
        astronaut, np.float32([[1, 0, 1.5], [0, 1, 0]]), astronaut.shape[1::-1], borderMode=cv2.BORDER_REPLICATE
    )
    assert error < 0.5 * _masked_error(moved, astronaut, region)
    assert np.array_equal(swapped[mask == 0], astronaut[mask == 0])


def test_the_mask_covers_the_inner_face_and_nothing_far_from_it(astronaut, astronaut_face):
    _, mask = FaceSwapper(_identity_model(), ConvertConfig()).swap(astronaut, [astronaut_face])
    ys, xs = np.nonzero(mask > 0.5)
    points = astronaut_face.landmarks
    # brows to lips lie inside; the helmet and the background do not
    nose = points[30].round().astype(int)
    assert mask[nose[1], nose[0]] == 1.0
    assert xs.min() > points[:, 0].min() - 20 and xs.max() < points[:, 0].max() + 20
    assert ys.max() < points[8, 1] + 5  # nothing below the chin
    assert mask[0, 0] == 0 and mask[-1, -1] == 0


@pytest.mark.parametrize("blend", ["alpha", "poisson"])
@pytest.mark.parametrize("colour", ["mean", "reinhard", "histogram", "none"])
def test_colour_correction_undoes_a_tinted_decoder(astronaut, astronaut_face, blend, colour):
    tint = (0.12, -0.05, -0.08)
    config = ConvertConfig(colour=colour, blend=blend)
    swapped, mask = FaceSwapper(_identity_model(tint_a=tint), config).swap(astronaut, [astronaut_face])
    inner = mask > 0.99
    shift = (swapped[inner].astype(np.float32) - astronaut[inner].astype(np.float32)).mean(axis=0) / 255
    if colour == "none" and blend == "alpha":
        assert shift[0] > 0.08 and shift[2] < -0.05  # the tint shows
    elif colour != "none":
        assert np.abs(shift).max() < 0.03, shift  # corrected toward the face it replaces


class _Grey(nn.Module):
    """Decoder whose face never changes, so all colour comes from the correction."""

    def forward(self, x):
        return torch.full_like(x, 0.5)


def test_smoothed_colour_follows_a_track_slowly(astronaut, astronaut_face):
    model = SwapModel(nn.Identity(), _Grey(), _Grey(), input_size=64, predicts_mask=False)
    swapper = FaceSwapper(model, ConvertConfig(colour="mean", colour_smoothing=0.25, feather=0.0, blend="alpha"))
    swapper.swap(astronaut, [astronaut_face])
    darker = (astronaut * 0.6).astype(np.uint8)
    lagging, mask = swapper.swap(darker, [astronaut_face])
    inner = mask > 0.99
    swapper.reset()
    fresh, _ = swapper.swap(darker, [astronaut_face])
    # Fresh statistics put the grey face at the dark frame's mean; remembered ones keep
    # 75 % of the brighter frame's.
    assert abs(float(fresh[inner].mean()) - float(darker[inner].mean())) < 4
    bright, dark = float(astronaut[inner].mean()), float(darker[inner].mean())
    assert float(lagging[inner].mean()) == pytest.approx(dark + 0.75 * (bright - dark), abs=4)


def test_no_faces_returns_the_frame_itself(astronaut):
    swapped, mask = FaceSwapper(_identity_model(), ConvertConfig()).swap(astronaut, [])
    assert swapped is astronaut and not mask.any()


def test_a_face_half_outside_the_frame(astronaut, astronaut_face):
    left = int(astronaut_face.landmarks[30, 0])  # cut through the nose
    cut = np.ascontiguousarray(astronaut[:, left:])
    face = SwapFace(astronaut_face.landmarks - [left, 0])
    swapped, mask = FaceSwapper(_identity_model(), ConvertConfig(blend="poisson")).swap(cut, [face])
    assert swapped.shape == cut.shape and mask[:, 0].max() > 0.5


def test_a_model_from_before_face_types_keeps_its_window(astronaut_face):
    # It saw the central 160/256 of crops at extract --coverage: at 0.625 the mean face
    # spans its whole window, as the "inner" face type does.
    from facetwin.faces.align import FACE_TYPES, crop_from_frame

    model = _identity_model()
    assert model.face is None
    m = model_window(astronaut_face.landmarks, 64, model_face(model))
    assert np.allclose(m, crop_from_frame(astronaut_face.landmarks, crop_size=64, coverage=1.0))
    assert np.allclose(m, model_window(astronaut_face.landmarks, 64, FACE_TYPES["inner"]))
    wider = model_window(astronaut_face.landmarks, 64, model_face(model, 0.5))
    assert np.allclose(wider, crop_from_frame(astronaut_face.landmarks, crop_size=64, coverage=0.8))


def test_bad_frames_are_refused(astronaut_face):
    swapper = FaceSwapper(_identity_model(), ConvertConfig())
    with pytest.raises(InvalidOptionError, match="image"):
        swapper.swap(np.zeros((10, 10), np.uint8), [astronaut_face])


def test_frames_swapped_together_equal_frames_swapped_one_by_one(astronaut, astronaut_face):
    moved = SwapFace(astronaut_face.landmarks + [3.0, 2.0])
    frames, faces = [astronaut, astronaut, astronaut], [[astronaut_face], [], [moved]]
    together = FaceSwapper(_identity_model(tint_a=(0.1, 0, 0)), ConvertConfig()).swap_frames(frames, faces)
    one_by_one = FaceSwapper(_identity_model(tint_a=(0.1, 0, 0)), ConvertConfig())
    for (image, mask), frame, found in zip(together, frames, faces):
        single, single_mask = one_by_one.swap(frame, found)
        assert np.array_equal(image, single)
        np.testing.assert_allclose(mask, single_mask, atol=1e-5)  # batched blur: float rounding only
    assert together[1][0] is astronaut


@pytest.mark.parametrize("face", ["inner", "whole"])
@pytest.mark.parametrize(
    "settings",
    [{}, {"forehead": 0.6}, {"erode": -0.1, "feather": 0.0}, {"forehead": 0.6, "erode": -0.08, "feather": 0.02}],
)
def test_the_mask_ends_softly_inside_the_models_window(astronaut, astronaut_face, settings, face):
    """Whatever the settings, the blend mask fades to nothing before the window's edge, so
    the pasted window's square outline never shows (a tinted decoder makes any edge visible)."""
    from facetwin.faces.align import FACE_TYPES, invert_affine, transform_points

    config = ConvertConfig(colour="none", **settings)
    model = _identity_model(64, tint_a=(0.3, 0.3, 0.3))
    model.face = FACE_TYPES[face]
    swapped, mask = FaceSwapper(model, config).swap(astronaut, [astronaut_face])
    size = 64
    to_frame = invert_affine(model_window(astronaut_face.landmarks, size, model.face))
    # The window's outline and a line one window pixel inside it, in frame pixels.
    t = np.linspace(0, size - 1, 200)
    for inset, limit in ((0.0, 0.05), (1.0, 0.25)):
        lo, hi = inset, size - 1 - inset
        outline = np.concatenate(
            [np.stack([t.clip(lo, hi), np.full_like(t, y)], 1) for y in (lo, hi)]
            + [np.stack([np.full_like(t, x), t.clip(lo, hi)], 1) for x in (lo, hi)]
        )
        points = transform_points(outline, to_frame).round().astype(int)
        inside = (
            (points[:, 0] >= 0) & (points[:, 1] >= 0) & (points[:, 0] < mask.shape[1]) & (points[:, 1] < mask.shape[0])
        )
        assert mask[points[inside, 1], points[inside, 0]].max() < limit, (inset, settings)
    # The swapped region is still the face: the nose is fully swapped.
    nose = astronaut_face.landmarks[30].round().astype(int)
    assert mask[nose[1], nose[0]] > 0.99
