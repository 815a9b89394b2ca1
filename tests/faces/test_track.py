"""Tests for facetwin.faces.track: following faces, One Euro smoothing, IoU, cuts."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from _helpers import shifted

from facetwin.errors import InvalidOptionError
from facetwin.faces import FaceTracker, OneEuroFilter, create_detector
from facetwin.faces.track import box_iou, is_scene_cut

STEP = (3.0, 2.0)  # pan of the synthetic video, pixels per frame (x, y)
FRAMES = 12


@pytest.fixture(scope="module")
def yunet():
    return create_detector("yunet")


@pytest.fixture(scope="module")
def panning(astronaut) -> list[np.ndarray]:
    """The astronaut moving right and down by STEP pixels a frame."""
    return [shifted(astronaut, STEP[0] * i, STEP[1] * i) for i in range(FRAMES)]


def _run(tracker: FaceTracker, frames: list[np.ndarray], fps: float = 25.0) -> list[list]:
    return [tracker.update(frame, i / fps) for i, frame in enumerate(frames)]


def _thumb(image: np.ndarray) -> np.ndarray:
    """A 64x36 grey thumbnail, as is_scene_cut documents its input."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)


# --- FaceTracker -------------------------------------------------------------------


def test_tracker_follows_one_face(panning, yunet, predictor):
    tracker = FaceTracker(yunet, predictor, redetect_every=5)
    results = _run(tracker, panning)
    assert [len(r) for r in results] == [1] * FRAMES
    assert {r[0].track_id for r in results} == {0}
    assert [r[0].new for r in results] == [True] + [False] * (FRAMES - 1)
    # Full-frame search only every 5th frame; the others look in a window.
    assert tracker.full_detections == 3 < FRAMES
    assert tracker.window_detections == FRAMES - 3
    first = results[0][0]
    assert first.landmarks.shape == first.raw_landmarks.shape == (68, 2)
    assert first.landmarks.dtype == np.float32 and first.box.shape == (4,)
    for i, r in enumerate(results):
        moved = r[0].raw_landmarks - first.raw_landmarks
        np.testing.assert_allclose(moved.mean(axis=0), np.multiply(STEP, i), atol=0.75)
        assert np.median(np.abs(moved - np.multiply(STEP, i))) <= 1.0
        # Without smoothing the output is the frame's own prediction.
        np.testing.assert_array_equal(r[0].landmarks, r[0].raw_landmarks)


def test_tracker_smoothing_lags_a_little(panning, yunet, predictor):
    tracker = FaceTracker(yunet, predictor, redetect_every=5, smooth={"min_cutoff": 1.5, "beta": 2.0})
    results = _run(tracker, panning)
    np.testing.assert_array_equal(results[0][0].landmarks, results[0][0].raw_landmarks)
    step = np.hypot(*STEP)
    direction = np.array(STEP) / step
    lags = [((r[0].raw_landmarks - r[0].landmarks) @ direction).mean() for r in results[1:]]
    # Behind the face, along its motion; never as far as a fixed 1.5 Hz low-pass would
    # lag (speed / (2 pi 1.5), about 9.5 px here), and once the filter has seen the
    # speed, by less than one frame's travel.
    fixed = step * 25 / (2 * np.pi * 1.5)
    assert all(0.1 * step < lag < 0.5 * fixed for lag in lags)
    assert all(lag < step for lag in lags[-4:])


def test_tracker_redetect_every_frame(panning, yunet, predictor):
    tracker = FaceTracker(yunet, predictor, redetect_every=1)
    results = _run(tracker, panning[:4])
    assert {r[0].track_id for r in results} == {0}
    assert (tracker.full_detections, tracker.window_detections) == (4, 0)
    assert tracker.full_this_frame


def test_tracker_new_track_after_a_scene_cut(astronaut, grace_hopper, yunet, predictor):
    grace = cv2.resize(grace_hopper, (512, 512), interpolation=cv2.INTER_AREA)
    frames = [astronaut, shifted(astronaut, 2, 1), grace, shifted(grace, 2, 1)]
    tracker = FaceTracker(yunet, predictor, redetect_every=10)
    results = _run(tracker, frames)
    assert [[(f.track_id, f.new) for f in r] for r in results] == [[(0, True)], [(0, False)], [(1, True)], [(1, False)]]
    assert tracker.full_detections == 2  # the first frame and the cut
    # The face after the cut is Grace Hopper's, where her face is.
    assert results[2][0].box[1] > 100 and results[2][0].box[3] > results[1][0].box[3] + 50


def test_tracker_drops_a_face_that_leaves(astronaut, yunet, predictor):
    blank = np.full_like(astronaut, 128)
    tracker = FaceTracker(yunet, predictor, redetect_every=10)
    results = _run(tracker, [astronaut, blank, astronaut])
    assert [[f.track_id for f in r] for r in results] == [[0], [], [1]]


def test_tracker_reset_and_extra(panning, yunet, predictor):
    tracker = FaceTracker(yunet, predictor, redetect_every=10)
    tracker.update(panning[0], 0.0)
    tracker.track_extra(0)["person"] = "a"
    tracker.update(panning[1], 0.04)
    assert tracker.track_extra(0) == {"person": "a"}
    assert tracker.track_extra(7) == {}
    tracker.reset()
    (face,) = tracker.update(panning[2], 0.08)
    assert face.new and face.track_id == 1 and tracker.track_extra(1) == {}


def test_tracker_rejects_bad_period(yunet, predictor):
    with pytest.raises(InvalidOptionError) as info:
        FaceTracker(yunet, predictor, redetect_every=0)
    assert str(info.value) == "redetect_every must be >= 1, got 0"


def _through_json(state: dict) -> dict:
    return json.loads(json.dumps(state, allow_nan=False))


def test_tracker_state_continues_exactly(panning, yunet, predictor):
    # An interrupted extraction saves this state in alignments.json and resumes from it.
    def tracker() -> FaceTracker:
        return FaceTracker(yunet, predictor, redetect_every=4, smooth={"min_cutoff": 1.5, "beta": 2.0})

    def follow(tracker: FaceTracker, frames: list[np.ndarray]) -> list[list]:
        results = []
        for i, frame in enumerate(frames):
            results.append(tracker.update(frame, i / 25.0))
            if i == 0:
                tracker.track_extra(0)["keep"] = True  # as the identity filter marks a track
        return results

    whole = tracker()
    expected = follow(whole, panning)
    first = tracker()
    follow(first, panning[:6])
    state = _through_json(first.state())
    continued = tracker()
    continued.restore(state)
    assert continued.track_extra(0) == {"keep": True}
    got = [continued.update(frame, i / 25.0) for i, frame in enumerate(panning[6:], 6)]
    for want, have in zip(expected[6:], got):
        assert [(f.track_id, f.new) for f in have] == [(f.track_id, f.new) for f in want] == [(0, False)]
        np.testing.assert_array_equal(have[0].landmarks, want[0].landmarks)
        np.testing.assert_array_equal(have[0].box, want[0].box)
    assert _through_json(continued.state()) == _through_json(whole.state())
    assert continued.full_detections == whole.full_detections == 3
    # Without the state the track starts again, its landmarks unsmoothed.
    fresh = tracker()
    (face,) = fresh.update(panning[6], 6 / 25.0)
    assert face.new and np.abs(face.landmarks - expected[6][0].landmarks).max() > 0.5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(tracks=3), "tracks: expected a list"),
        (
            lambda s: s["tracks"][0].update(box=[1, 2, 3]),
            "tracks[0].box: expected finite numbers of shape (4,), got shape (3,)",
        ),
        (lambda s: s["tracks"][0].update(id=-1), "tracks[0].id: expected an integer >= 0, got -1"),
        (lambda s: s["tracks"][0].update(extra=None), "tracks[0]: expected an object with an extra object"),
        (
            lambda s: s["tracks"][0]["filter"].update(dx=[[0.0, 0.0]]),
            "tracks[0].filter: dx: expected finite numbers of shape (68, 2), got shape (1, 2)",
        ),
        (
            lambda s: s["tracks"][0]["filter"].update(t="now"),
            "tracks[0].filter: t: expected a finite number, got 'now'",
        ),
        (
            lambda s: s.update(thumb=[[0.0] * 64] * 35),
            "thumb: expected finite numbers of shape (36, 64), got shape (35, 64)",
        ),
        (lambda s: s.update(next_id=True), "next_id: expected an integer >= 0, got True"),
        (lambda s: s.pop("since_full"), "since_full: expected an integer >= 0, got None"),
    ],
)
def test_tracker_restore_names_what_is_damaged(panning, yunet, predictor, change, message):
    tracker = FaceTracker(yunet, predictor, smooth={})
    for i, frame in enumerate(panning[:2]):
        tracker.update(frame, i / 25.0)
    state = _through_json(tracker.state())
    change(state)
    fresh = FaceTracker(yunet, predictor, smooth={})
    with pytest.raises(ValueError) as info:
        fresh.restore(state)
    assert str(info.value) == message
    assert fresh.state() == FaceTracker(yunet, predictor, smooth={}).state()  # nothing half-restored


# --- OneEuroFilter -----------------------------------------------------------------

RATE = 30.0


def _filter_series(f: OneEuroFilter, xs: np.ndarray, scale: float) -> np.ndarray:
    return np.array([f(x, i / RATE, scale=scale) for i, x in enumerate(xs)])


def test_one_euro_reduces_jitter_of_a_still_point():
    rng = np.random.default_rng(0)
    noisy = 250.0 + rng.normal(0, 1.0, 300)  # 1 px of jitter on a 100 px face
    out = _filter_series(OneEuroFilter(), noisy, scale=100.0)
    assert out[50:].std() < 0.5 * noisy[50:].std()
    assert abs(out[50:].mean() - 250.0) < 0.2


def test_one_euro_follows_a_ramp_with_small_lag():
    speed = 100.0  # px/s: one face width per second
    ramp = speed * np.arange(120) / RATE
    lag = ramp - _filter_series(OneEuroFilter(min_cutoff=1.5, beta=2.0), ramp, scale=100.0)
    fixed = ramp - _filter_series(OneEuroFilter(min_cutoff=1.5, beta=0.0), ramp, scale=100.0)
    # A fixed 1.5 Hz low-pass lags speed * tau = 100 / (2 pi 1.5) ~ 10.6 px. With beta
    # the cut-off rises to at least 1.5 + 2 * 1 face/s = 3.5 Hz, a lag of at most 4.5 px
    # (less, as the speed is measured against the lagging output).
    assert fixed[-1] == pytest.approx(speed / (2 * np.pi * 1.5), rel=0.05)
    assert 0 < lag[-1] < speed / (2 * np.pi * 3.5)
    assert abs(lag[-1] - lag[-10]) < 0.05  # settled: it keeps up with the ramp


def test_one_euro_is_scale_invariant():
    rng = np.random.default_rng(1)
    xs = np.cumsum(rng.normal(0, 1.0, 60))
    small = _filter_series(OneEuroFilter(), xs, scale=1.0)
    big = _filter_series(OneEuroFilter(), 50.0 * xs, scale=50.0)
    np.testing.assert_allclose(big, 50.0 * small, rtol=1e-9, atol=1e-9)


def test_one_euro_first_sample_and_time_reset():
    f = OneEuroFilter()
    np.testing.assert_array_equal(f(np.array([1.0, 2.0]), 0.0), [1.0, 2.0])
    smoothed = f(np.array([11.0, 12.0]), 1 / RATE, scale=1.0)
    assert 1.0 < smoothed[0] < 11.0
    # Time going back (a seek) restarts the filter from the new sample.
    np.testing.assert_array_equal(f(np.array([5.0, 5.0]), 0.0), [5.0, 5.0])


def test_one_euro_cutoff_is_per_point():
    rng = np.random.default_rng(2)
    still = 100.0 + rng.normal(0, 0.5, (60, 2))
    moving = np.stack([np.arange(60) * 10.0, np.zeros(60)], axis=1)  # a fast blink
    both = np.stack([still, moving], axis=1)  # (T, 2 points, 2)
    alone = _filter_series(OneEuroFilter(), still[:, None], scale=50.0)[:, 0]
    together = _filter_series(OneEuroFilter(), both, scale=50.0)[:, 0]
    np.testing.assert_allclose(together, alone, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_cutoff": 0}, "min_cutoff must be > 0, got 0"),
        ({"beta": -1}, "beta must be >= 0, got -1"),
    ],
)
def test_one_euro_errors(kwargs, message):
    with pytest.raises(InvalidOptionError) as info:
        OneEuroFilter(**kwargs)
    assert str(info.value) == message


def test_one_euro_state_round_trip():
    rng = np.random.default_rng(3)
    xs = np.cumsum(rng.normal(0, 1.0, (40, 3, 2)), axis=0)
    whole = _filter_series(OneEuroFilter(), xs, scale=7.0)
    first = OneEuroFilter()
    _filter_series(first, xs[:15], scale=7.0)
    second = OneEuroFilter()
    second.restore(json.loads(json.dumps(first.state())))
    rest = np.array([second(x, i / RATE, scale=7.0) for i, x in enumerate(xs[15:], 15)])
    np.testing.assert_array_equal(rest, whole[15:])  # bit for bit
    empty = OneEuroFilter()
    empty.restore(OneEuroFilter().state())
    np.testing.assert_array_equal(empty(np.ones(2), 0.0), np.ones(2))


# --- box_iou -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),
        ([0, 0, 2, 2], [1, 0, 3, 2], 1 / 3),
        ([0, 0, 4, 4], [1, 1, 3, 3], 0.25),
        ([0, 0, 2, 2], [1, 1, 3, 3], 1 / 7),
        ([0, 0, 2, 2], [2, 0, 4, 2], 0.0),  # touching edges
        ([0, 0, 2, 2], [5, 5, 6, 6], 0.0),
        ([10.5, 20.25, 30.5, 40.25], [20.5, 20.25, 40.5, 40.25], 1 / 3),
    ],
)
def test_box_iou_reference_values(a, b, expected):
    iou = box_iou(np.array([a], float), np.array([b], float))
    assert iou.shape == (1, 1)
    assert iou[0, 0] == pytest.approx(expected, abs=1e-12)


def test_box_iou_matches_pixel_counting():
    rng = np.random.default_rng(3)
    lo = rng.integers(0, 30, (6, 2))
    a = np.concatenate([lo, lo + rng.integers(1, 20, (6, 2))], axis=1)[:4]
    b = np.concatenate([lo, lo + rng.integers(1, 20, (6, 2))], axis=1)[1:]

    def mask(box: np.ndarray) -> np.ndarray:
        m = np.zeros((60, 60), bool)
        m[box[1] : box[3], box[0] : box[2]] = True
        return m

    expected = np.array([[(mask(x) & mask(y)).sum() / (mask(x) | mask(y)).sum() for y in b] for x in a])
    iou = box_iou(a, b)
    assert iou.shape == (4, 5)
    np.testing.assert_allclose(iou, expected, atol=1e-12)
    np.testing.assert_allclose(box_iou(b, a), iou.T, atol=1e-12)
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 5)


# --- is_scene_cut ------------------------------------------------------------------


def test_scene_cut_between_different_people(astronaut, grace_hopper):
    assert is_scene_cut(_thumb(astronaut), _thumb(grace_hopper))
    assert is_scene_cut(_thumb(grace_hopper), _thumb(astronaut))


def test_no_scene_cut_for_motion(astronaut):
    assert not is_scene_cut(_thumb(astronaut), _thumb(shifted(astronaut, 3, 2)))
    assert not is_scene_cut(_thumb(astronaut), _thumb(shifted(astronaut, -6, 4)))


def test_no_scene_cut_for_a_flash(astronaut):
    darker = (astronaut * 0.6).astype(np.uint8)  # brightness changes, the layout does not
    assert not is_scene_cut(_thumb(astronaut), _thumb(darker))


def test_no_scene_cut_without_a_previous_frame(astronaut):
    assert not is_scene_cut(None, _thumb(astronaut))
