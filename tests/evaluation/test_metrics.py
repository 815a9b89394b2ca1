"""Tests for facetwin.evaluation.metrics: known answers on constructed landmarks and vectors,
and the package portraits for what needs real faces (identity, re-detected landmarks)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from _helpers import shifted

from facetwin.errors import InvalidOptionError, ModelFileError
from facetwin.evaluation import metrics
from facetwin.evaluation.metrics import (
    SFaceEncoder,
    face_flicker,
    head_pose,
    identity_scores,
    inter_ocular,
    jitter_ratio,
    landmark_error,
    landmark_jitter,
    pose_error,
    psnr,
    retrieval_rate,
    sface_distance,
    ssim,
)

# --- real faces ---------------------------------------------------------------------------


def _landmarks(image: np.ndarray, predictor) -> np.ndarray:
    from facetwin.faces import create_detector

    found = create_detector("yunet")(image)
    assert len(found) >= 1
    return predictor(image, found.boxes[0]).astype(np.float64)


@pytest.fixture(scope="module")
def faces(astronaut, grace_hopper, predictor):
    """Portraits with their landmarks: the astronaut, her again moved (7, 4) px and
    brightened by 20 (same person, other pixels), and Grace Hopper (another person)."""
    moved = np.clip(shifted(astronaut, 7, 4).astype(np.int16) + 20, 0, 255).astype(np.uint8)
    images = {"astronaut": astronaut, "moved": moved, "grace": grace_hopper}
    return {name: (image, _landmarks(image, predictor)) for name, image in images.items()}


@pytest.fixture(scope="module")
def dlib_vectors(faces):
    from facetwin.faces import IdentityEncoder

    encoder = IdentityEncoder()
    return {name: encoder(image, landmarks) for name, (image, landmarks) in faces.items()}


@pytest.fixture(scope="module")
def sface():
    if not SFaceEncoder.available():
        pytest.skip("SFace model file not installed")
    return SFaceEncoder()


# --- constructed landmarks ----------------------------------------------------------------


def _face(seed: int = 0) -> np.ndarray:
    """(68, 2) random points with the eye centres 40 px apart: (100, 100) and (140, 100)."""
    points = np.random.default_rng(seed).uniform(50, 200, (68, 2))
    for eye, centre in ((slice(36, 42), (100.0, 100.0)), (slice(42, 48), (140.0, 100.0))):
        points[eye] += np.asarray(centre) - points[eye].mean(axis=0)
    return points


def test_inter_ocular_is_the_distance_of_the_eye_centres():
    assert inter_ocular(_face()) == pytest.approx(40.0, abs=1e-12)


def test_landmark_error_of_a_shift_is_the_shift_over_the_inter_ocular_distance():
    ref = _face()
    assert landmark_error(ref, ref) == 0.0
    for shift in ([3.0, 0.0], [0.0, -6.0], [3.0, 4.0]):
        assert landmark_error(ref + shift, ref) == pytest.approx(np.hypot(*shift) / 40.0, rel=1e-12)


def test_landmark_error_batches_give_one_error_per_face():
    ref = np.stack([_face(0), _face(1) * 2.0])  # the second face is twice as large
    pred = ref + [[[4.0, 0.0]], [[4.0, 0.0]]]
    error = landmark_error(pred, ref)
    assert isinstance(error, np.ndarray) and error.shape == (2,)
    np.testing.assert_allclose(error, [4.0 / 40.0, 4.0 / inter_ocular(ref[1])], rtol=1e-12)


def test_landmark_error_rejects_mismatched_shapes_and_eyeless_faces():
    with pytest.raises(InvalidOptionError, match="ref must be an array of shape"):
        landmark_error(_face(), np.stack([_face(), _face()]))
    with pytest.raises(InvalidOptionError, match="pred must be"):
        landmark_error(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(InvalidOptionError, match="two distinct eyes"):
        landmark_error(np.zeros((68, 2)), np.zeros((68, 2)))


def test_landmarks_found_again_on_a_shifted_portrait_move_by_the_shift(faces, predictor):
    for name in ("astronaut", "grace"):
        image, landmarks = faces[name]
        moved = _landmarks(shifted(image, 5, 0), predictor)
        expected = 5.0 / inter_ocular(landmarks)
        assert landmark_error(moved, landmarks) == pytest.approx(expected, abs=0.02)
        assert landmark_error(moved, landmarks + [5.0, 0.0]) < 0.04  # about a pixel of noise


# --- head pose ----------------------------------------------------------------------------

SIZE = (640, 480)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``Rz(roll) Rx(-pitch) Ry(-yaw)``, the documented convention, in degrees."""
    y, p, r = np.radians([-yaw, -pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _posed_face(yaw: float, pitch: float, roll: float, shift=(0.0, 0.0)) -> np.ndarray:
    """68 landmarks whose six pose points are the generic head seen 600 mm away."""
    width, height = SIZE
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1.0]])
    points = metrics._HEAD_MODEL @ _rotation(yaw, pitch, roll).T + [shift[0], shift[1], 600.0]
    projected = points @ camera.T
    landmarks = _face()
    landmarks[metrics._POSE_POINTS] = projected[:, :2] / projected[:, 2:]
    return landmarks


def test_head_pose_recovers_the_angles_of_a_projected_head():
    for angles in ([0, 0, 0], [20, 0, 0], [0, 15, 0], [0, 0, -10], [-25, 10, 5]):
        found = head_pose(_posed_face(*angles), SIZE)
        np.testing.assert_allclose(found, angles, atol=0.01)
    np.testing.assert_allclose(head_pose(_posed_face(10, -5, 3, shift=(80, -40)), SIZE), [10, -5, 3], atol=0.01)


def test_head_pose_signs_mean_what_the_docstring_says():
    def nose_offset(landmarks):  # nose tip relative to the middle of eyes and mouth
        return landmarks[30] - landmarks[[36, 45, 48, 54]].mean(axis=0)

    straight = nose_offset(_posed_face(0, 0, 0))
    assert nose_offset(_posed_face(20, 0, 0))[0] > straight[0] + 5  # yaw > 0: nose points right
    assert nose_offset(_posed_face(0, 20, 0))[1] < straight[1] - 5  # pitch > 0: nose points up
    rolled = _posed_face(0, 0, 10)
    assert rolled[36, 1] < rolled[45, 1] - 5  # roll > 0: clockwise, the image-left eye higher


def test_a_mirrored_face_has_opposite_yaw_and_roll_and_the_same_pitch():
    landmarks = _posed_face(18, 7, -6)
    mirrored = landmarks.copy()
    mirrored[:, 0] = SIZE[0] - landmarks[:, 0]
    for a, b in ((36, 45), (48, 54)):  # the image-left points are now on the right
        mirrored[[a, b]] = mirrored[[b, a]]
    yaw, pitch, roll = head_pose(landmarks, SIZE)
    np.testing.assert_allclose(head_pose(mirrored, SIZE), [-yaw, pitch, -roll], atol=1e-4)


def test_pose_error_is_zero_for_identical_faces_and_wraps_angles():
    pose = head_pose(_posed_face(12, -4, 2), SIZE)
    np.testing.assert_array_equal(pose_error(pose, pose), np.zeros(3))
    np.testing.assert_allclose(pose_error(np.array([170.0, -90, 0]), np.array([-170.0, 90, 359])), [20, 180, 1])


def test_head_pose_of_real_portraits_flipped_and_rotated(faces, predictor):
    image, landmarks = faces["astronaut"]
    size = (image.shape[1], image.shape[0])
    pose = head_pose(landmarks, size)
    flipped = np.ascontiguousarray(image[:, ::-1])
    flipped_pose = head_pose(_landmarks(flipped, predictor), size)
    assert abs(pose[0]) > 3 and np.sign(flipped_pose[0]) == -np.sign(pose[0])
    assert abs(flipped_pose[0] + pose[0]) < 3 and abs(flipped_pose[2] + pose[2]) < 3
    assert abs(flipped_pose[1] - pose[1]) < 3
    # Turning the picture 10 degrees clockwise adds about 10 degrees of roll.
    turn = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), -10, 1.0)
    turned = cv2.warpAffine(image, turn, size, borderMode=cv2.BORDER_REPLICATE)
    assert head_pose(_landmarks(turned, predictor), size)[2] - pose[2] == pytest.approx(10, abs=2)


def test_head_pose_rejects_bad_image_sizes():
    with pytest.raises(InvalidOptionError, match="image width must be > 0"):
        head_pose(_face(), (0, 480))
    with pytest.raises(InvalidOptionError, match="image_size"):
        head_pose(_face(), (640,))


# --- identity -----------------------------------------------------------------------------


def test_dlib_distance_separates_people_and_not_copies(dlib_vectors):
    d = lambda a, b: float(np.linalg.norm(dlib_vectors[a] - dlib_vectors[b]))  # noqa: E731
    assert d("astronaut", "astronaut") == 0.0
    assert d("astronaut", "moved") < 0.4
    assert d("astronaut", "grace") > 0.6 and d("moved", "grace") > 0.6


def test_sface_distance_separates_people_and_not_copies(faces, sface):
    vectors = {name: sface(image, landmarks) for name, (image, landmarks) in faces.items()}
    assert vectors["astronaut"].shape == (128,) and vectors["astronaut"].dtype == np.float32
    assert sface_distance(vectors["astronaut"], vectors["astronaut"]) == pytest.approx(0, abs=1e-6)
    assert sface_distance(vectors["astronaut"], vectors["moved"]) < 0.1
    # OpenCV's "same person" threshold is cosine similarity 0.363, i.e. distance 0.637.
    assert sface_distance(vectors["astronaut"], vectors["grace"]) > 0.64
    assert sface_distance(vectors["moved"], vectors["grace"]) > 0.64


def test_sface_points_from_68_landmarks_follow_yunets_order(faces, sface):
    from facetwin.faces.models import model_path

    yunet = cv2.FaceDetectorYN.create(str(model_path("yunet")), "", (320, 320), 0.6, 0.3, 5000)
    for image, landmarks in faces.values():
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        yunet.setInputSize((bgr.shape[1], bgr.shape[0]))
        found = yunet.detect(bgr)[1][:1]
        ours = metrics._yunet_face_row(landmarks)
        theirs, mine = found[0, 4:14].reshape(5, 2), ours[0, 4:14].reshape(5, 2)
        gaps = np.linalg.norm(theirs[:, None] - mine[None], axis=-1)
        assert gaps.argmin(axis=0).tolist() == [0, 1, 2, 3, 4]  # each point nearest its namesake
        assert gaps.diagonal().max() < 0.2 * inter_ocular(landmarks)
        # SFace reads the face from either set of points alike.
        net = sface._net()
        from_yunet = net.feature(net.alignCrop(bgr, found)).ravel()
        assert sface_distance(sface(image, landmarks), from_yunet) < 0.1


def test_sface_is_unavailable_without_its_model_file(monkeypatch):
    def missing(name):
        raise ModelFileError(name, "nowhere", "is missing")

    monkeypatch.setattr("facetwin.faces.models.model_path", missing)
    assert SFaceEncoder.available() is False


def test_identity_scores_on_constructed_vectors():
    target, source = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.9, 0.1, 0.0], [2.0, 0.0, 0.0]])
    scores = identity_scores(vectors, target, source)
    np.testing.assert_allclose(scores["to_target"], [0, math.sqrt(5), math.sqrt(0.02), 1.0])
    np.testing.assert_allclose(scores["to_source"], [math.sqrt(2), 1.0, math.sqrt(1.62), math.sqrt(5)])
    assert scores["retrieval"].tolist() == [True, False, True, True]
    assert retrieval_rate(vectors, target, source) == 0.75
    cosine = identity_scores(vectors, target, source, cosine=True)
    np.testing.assert_allclose(cosine["to_target"][[0, 1, 3]], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(cosine["to_source"][[0, 1, 3]], [1.0, 0.0, 1.0], atol=1e-12)
    assert retrieval_rate(vectors, target, source, cosine=True) == 0.75


def test_identity_scores_reject_mismatched_sizes_and_no_vectors():
    with pytest.raises(InvalidOptionError, match="target_mean must be an array of shape \\(3\\)"):
        identity_scores(np.zeros((2, 3)), np.zeros(128), np.zeros(3))
    with pytest.raises(InvalidOptionError, match="at least one identity vector"):
        retrieval_rate(np.zeros((0, 3)), np.zeros(3), np.ones(3))


# --- pixels -------------------------------------------------------------------------------


def test_psnr_of_identical_and_of_known_differences(astronaut):
    assert psnr(astronaut, astronaut) == math.inf
    dark = np.zeros((8, 8, 3), np.uint8)
    assert psnr(dark, dark + 5) == pytest.approx(20 * math.log10(255 / 5))
    half = dark.copy()
    half[:4] = 10  # MSE = 100 / 2
    assert psnr(dark, half) == pytest.approx(10 * math.log10(255**2 / 50))


def test_ssim_is_one_for_identical_and_agrees_with_scikit_image(astronaut):
    from skimage.metrics import structural_similarity

    assert ssim(astronaut, astronaut) == pytest.approx(1.0, abs=1e-6)
    noise = np.random.default_rng(0).normal(0, 10, astronaut.shape)
    noisy = np.clip(astronaut + noise, 0, 255).astype(np.uint8)
    ours = ssim(astronaut, noisy)
    reference = structural_similarity(
        astronaut, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1
    )
    assert 0.5 < ours < 0.8 and ours == pytest.approx(reference, abs=0.01)
    assert ssim(noisy, astronaut) == pytest.approx(ours, abs=1e-6)


def test_pixel_metrics_check_their_images():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InvalidOptionError, match="b must be an array of shape \\(8, 8, 3\\)"):
        psnr(image, np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(InvalidOptionError, match="dtype uint8"):
        ssim(image, image.astype(np.float32))
    with pytest.raises(InvalidOptionError, match="at least 6 pixels"):
        ssim(image[:4], image[:4])


# --- over time ----------------------------------------------------------------------------


def _moving_track(frames: int = 200) -> np.ndarray:
    """A face drifting at a constant (1.5, -0.5) px per frame."""
    return _face() + np.arange(frames)[:, None, None] * np.array([1.5, -0.5])


def test_a_face_moving_at_constant_velocity_has_no_jitter():
    assert landmark_jitter(_moving_track()) == pytest.approx(0.0, abs=1e-12)
    assert landmark_jitter(np.repeat(_face()[None], 5, axis=0)) == 0.0


def test_jitter_of_added_noise_has_the_expected_magnitude():
    sigma = 2.0
    noise = np.random.default_rng(1).normal(0, sigma, (200, 68, 2))
    expected = math.sqrt(3 * math.pi) * sigma / 40.0
    assert landmark_jitter(_moving_track() + noise) == pytest.approx(expected, rel=0.03)


def test_jitter_skips_frames_without_a_face():
    track = _moving_track(10)
    track[4] = np.nan
    assert landmark_jitter(track) == pytest.approx(0.0, abs=1e-12)
    track[[2, 6, 8]] = np.nan  # no three consecutive frames left
    assert math.isnan(landmark_jitter(track))
    with pytest.raises(InvalidOptionError, match="number of frames must be >= 3"):
        landmark_jitter(_moving_track(2))


def test_jitter_ratio_compares_the_output_with_the_input():
    rng = np.random.default_rng(2)
    track = _moving_track()
    assert jitter_ratio(track, track) == 1.0
    calm = track + rng.normal(0, 1.0, track.shape)
    shaky = track + rng.normal(0, 2.0, track.shape)
    assert jitter_ratio(shaky, calm) == pytest.approx(2.0, rel=0.05)
    with pytest.raises(InvalidOptionError, match="input_tracks must be"):
        jitter_ratio(track, track[:10])


def test_face_flicker_wraps_flicker_score():
    import torch

    from facetwin.conversion.metrics import flicker_score

    rng = np.random.default_rng(3)
    inputs = rng.integers(0, 200, (4, 16, 16, 3), dtype=np.uint8)
    masks = np.zeros((4, 16, 16), np.float32)
    masks[:, 4:12, 4:12] = 1.0
    assert face_flicker(inputs, inputs, masks) == pytest.approx(1.0)
    outputs = (inputs + rng.integers(0, 50, inputs.shape)).astype(np.uint8)
    as_tensor = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    direct = flicker_score(as_tensor(outputs), as_tensor(inputs), torch.from_numpy(masks)[:, None])
    assert face_flicker(outputs, inputs, masks) == pytest.approx(float(direct), rel=1e-6)
    with pytest.raises(InvalidOptionError, match="masks must be"):
        face_flicker(inputs, inputs, masks[:, :8])


# --- paper-style figures: pose L2, expression, detail ----------------------------------------


def test_pose_distance_of_a_known_rotation_is_its_angle():
    frontal = head_pose(_posed_face(0, 0, 0), SIZE)
    assert metrics.pose_distance(pose_error(head_pose(_posed_face(20, 0, 0), SIZE), frontal)) == pytest.approx(
        20, abs=0.05
    )
    turned = pose_error(head_pose(_posed_face(12, -9, 0), SIZE), frontal)
    assert metrics.pose_distance(turned) == pytest.approx(15, abs=0.05)  # sqrt(12^2 + 9^2)
    np.testing.assert_allclose(metrics.pose_distance(np.stack([turned, np.zeros(3)])), [15, 0], atol=0.05)


def _iod(landmarks):
    return inter_ocular(landmarks)


def _expressive_clip(neutral, amounts, *, mouth=True, seed=0):
    """``neutral`` (68, 2) over len(amounts) frames: the mouth opening (or the brows rising)
    by amount x inter-ocular distance, each frame moved, turned and scaled differently."""
    rng = np.random.default_rng(seed)
    iod = _iod(neutral)
    frames = []
    for amount in amounts:
        face = neutral.copy()
        if mouth:  # lower lip, inner lower lip and chin go down; the corners a little out
            face[[56, 57, 58, 65, 66, 67]] += [0, amount * iod]
            face[7:10] += [0, 0.8 * amount * iod]
            face[48] -= [0.15 * amount * iod, 0]
            face[54] += [0.15 * amount * iod, 0]
        else:  # brows up
            face[17:27] -= [0, amount * iod]
        angle, scale = rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.25)
        rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        centre = face.mean(axis=0)
        frames.append((face - centre) @ rotation.T + centre + rng.uniform(-30, 30, 2))
    return np.stack(frames)


def test_expression_error_is_low_for_the_same_expression_on_another_face(faces):
    amounts = [0, 0.1, 0.25, 0.4, 0.25, 0.1, 0.0, 0.3]
    astronaut, grace = faces["astronaut"][1], faces["grace"][1]
    source = _expressive_clip(astronaut, amounts, seed=1)
    same = _expressive_clip(grace, amounts, seed=2)  # another person, other poses, the same movement
    other = _expressive_clip(grace, amounts, mouth=False, seed=3)  # the brows move instead
    frozen = _expressive_clip(grace, [0.2] * len(amounts), seed=4)  # a face that stopped moving
    error_same = metrics.expression_errors(same, source).mean()
    error_other = metrics.expression_errors(other, source).mean()
    error_frozen = metrics.expression_errors(frozen, source).mean()
    assert error_same < 0.01
    assert error_other > 5 * error_same and error_frozen > 5 * error_same
    # A face that stays still scores the input's own expression size.
    assert error_frozen == pytest.approx(metrics.expression_size(source), rel=1e-6)
    # Motion: the same movement is all kept, a frozen face keeps none of it.
    motion_in = metrics.expression_motion(source)
    assert metrics.expression_motion(same) / motion_in == pytest.approx(1, abs=0.05)
    assert metrics.expression_motion(frozen) / motion_in < 0.05


def test_expression_error_grows_with_the_expression_missed(faces):
    astronaut, grace = faces["astronaut"][1], faces["grace"][1]
    source = _expressive_clip(astronaut, [0, 0.4] * 4, seed=5)
    errors = [
        metrics.expression_errors(_expressive_clip(grace, [0, kept] * 4, seed=6), source).mean()
        for kept in (0.4, 0.3, 0.2, 0.1, 0.0)
    ]
    assert errors == sorted(errors) and errors[-1] > 10 * errors[0]


def test_expression_offsets_skip_frames_without_a_face(faces):
    clip = _expressive_clip(faces["astronaut"][1], [0, 0.2, 0.4, 0.2])
    clip[1] = np.nan
    errors = metrics.expression_errors(clip, clip)
    assert np.isnan(errors[1]) and np.allclose(errors[[0, 2, 3]], 0, atol=1e-12)
    assert math.isfinite(metrics.expression_motion(clip))
    with pytest.raises(InvalidOptionError):
        metrics.expression_offsets(np.full((3, 68, 2), np.nan))


def test_detail_ratio_of_a_blurred_face_is_low(faces):
    from facetwin.evaluation.runner import _face_crop

    image, landmarks = faces["astronaut"]
    real = _face_crop(image, landmarks)
    assert metrics.detail_ratio(real, real) == 1.0
    ratios = [metrics.detail_ratio(cv2.GaussianBlur(real, (0, 0), sigma), real) for sigma in (0.7, 1.5, 3.0)]
    assert ratios == sorted(ratios, reverse=True) and ratios[1] < 0.7 and ratios[2] < 0.3
    # Brightness does not count, only detail.
    brighter = np.clip(real.astype(np.int16) + 25, 0, 255).astype(np.uint8)
    assert metrics.detail_ratio(brighter, real) == pytest.approx(1, abs=0.1)


def test_a_checker_pattern_on_a_smudge_is_not_detail(faces):
    """A blurred face with a fine checker pattern on it, as an undertrained decoder paints
    one, must not pass for a detailed face."""
    from facetwin.evaluation.runner import _face_crop

    real = _face_crop(*faces["astronaut"])
    smudge = cv2.GaussianBlur(real, (0, 0), 4).astype(np.int16)
    checker = ((np.indices(real.shape[:2]) // 2).sum(axis=0) % 2 * 2 - 1) * 12  # 2-pixel squares, +-12 levels
    smudge = np.clip(smudge + checker[..., None], 0, 255).astype(np.uint8)
    assert metrics.detail_ratio(smudge, real) < 0.3


@pytest.mark.slow
def test_expression_error_on_real_footage_tells_other_expressions_from_the_same(predictor):
    """talking_d0 (strong expressions): each frame's landmarks against the same frame made
    darker and re-compressed (the same expression) and against another moment of the clip
    (the same person and a similar pose, another expression)."""
    from _helpers import shared_data

    from facetwin.faces import create_detector
    from facetwin.io import open_media

    detector = create_detector("yunet")
    tracks, altered = [], []
    with open_media(shared_data("videos", "talking_d0.mp4")) as video:
        for frame in video.frames():
            box = detector(frame.image).boxes[0]
            tracks.append(predictor(frame.image, box))
            darker = (frame.image.astype(np.float64) * 0.75).astype(np.uint8)
            _, jpeg = cv2.imencode(".jpg", darker, [cv2.IMWRITE_JPEG_QUALITY, 60])
            altered.append(predictor(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED), box))
    tracks, altered = np.asarray(tracks, np.float64), np.asarray(altered, np.float64)
    same = metrics.expression_errors(altered, tracks).mean()
    other = metrics.expression_errors(np.roll(tracks, len(tracks) // 2, axis=0), tracks).mean()
    assert other > 3 * same
    assert metrics.expression_motion(altered) / metrics.expression_motion(tracks) == pytest.approx(1, abs=0.25)
