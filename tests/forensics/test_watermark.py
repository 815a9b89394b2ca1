"""Tests for facetwin.forensics.watermark: invisible, blind, and surviving re-encoding, resizing,
crops, pads, flips and quarter turns."""

from __future__ import annotations

import io
from functools import lru_cache
from statistics import NormalDist

import av
import cv2
import numpy as np
import pytest
from _helpers import shared_data

from facetwin.errors import InvalidOptionError
from facetwin.forensics.watermark import THRESHOLD, WatermarkReader, WatermarkResult, embed_watermark, watermark_score

#: Unmarked pictures score at most like a standard normal variable: above 3 sigma is rare,
#: 5 never seen. (The score is one-sided: the best of many trials turned into the sigma of
#: one test, so an unmarked picture can also score well below zero.)
CLEAN_MAX = 3.0


def h264(frames: list[np.ndarray], crf: int = 23) -> list[np.ndarray]:
    """Frames after an in-memory libx264 round trip (yuv420p; odd sizes lose their last row/column)."""
    height, width = frames[0].shape[0] // 2 * 2, frames[0].shape[1] // 2 * 2
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "ultrafast"}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buf.seek(0)
    with av.open(buf) as container:
        out = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(out) == len(frames)
    return out


def half(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def crop(image: np.ndarray, left: float, top: float, right: float, bottom: float) -> np.ndarray:
    h, w = image.shape[:2]
    return np.ascontiguousarray(image[round(top * h) : h - round(bottom * h), round(left * w) : w - round(right * w)])


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def pad(image: np.ndarray, value: int = 0, size: int = 16) -> np.ndarray:
    return cv2.copyMakeBorder(image, size, size, size, size, cv2.BORDER_CONSTANT, value=(value, value, value))


TRANSFORMS = {
    "crf23": lambda image: h264([image])[0],
    "half": half,
    "half_then_crf23": lambda image: h264([half(image)])[0],
    "crf23_then_half": lambda image: half(h264([image])[0]),
}

#: What moves the mark rather than weakening it (issue 15): the v1 mark was lost after each.
GEOMETRY = {
    "crop_5_each_side": lambda image: crop(image, 0.05, 0.05, 0.05, 0.05),
    "crop_10_each_side": lambda image: crop(image, 0.1, 0.1, 0.1, 0.1),
    "crop_10_right_bottom": lambda image: crop(image, 0, 0, 0.1, 0.1),
    "crop_uneven": lambda image: crop(image, 0.03, 0.07, 0.01, 0.09),
    "pad_16_black": pad,
    "pad_16_white": lambda image: pad(image, 255),
    "flip_left_right": lambda image: np.ascontiguousarray(image[:, ::-1]),
    "flip_upside_down": lambda image: np.ascontiguousarray(image[::-1]),
    "turn_90": lambda image: np.ascontiguousarray(np.rot90(image, 1)),
    "turn_180": lambda image: np.ascontiguousarray(np.rot90(image, 2)),
    "turn_270": lambda image: np.ascontiguousarray(np.rot90(image, 3)),
    "transpose": lambda image: np.ascontiguousarray(image.transpose(1, 0, 2)),
    "jpeg_75": jpeg,
    "crop_10_turn_90_crf23": lambda image: h264([np.ascontiguousarray(np.rot90(crop(image, 0.1, 0.1, 0.1, 0.1)))])[0],
    "pad_16_then_half": lambda image: half(pad(image)),
}


@pytest.fixture(params=["astronaut", "grace_hopper"])
def portrait(request) -> np.ndarray:
    return request.getfixturevalue(request.param)


def test_marked_portrait_is_found_and_unmarked_is_not(portrait):
    marked = embed_watermark(portrait)
    assert watermark_score(marked) >= THRESHOLD
    assert watermark_score(portrait) < CLEAN_MAX


def test_mark_is_invisible_and_leaves_the_input_alone(portrait):
    before = portrait.copy()
    marked = embed_watermark(portrait)
    assert np.array_equal(portrait, before)
    assert marked.shape == portrait.shape and marked.dtype == np.uint8 and marked is not portrait
    diff = marked.astype(int) - portrait
    assert psnr(marked, portrait) >= 38.0
    assert np.abs(diff).max() <= 5
    assert np.abs(diff).mean() > 0.5  # it did change the picture
    # The luma moves, the colour does not: R, G and B change alike wherever none clipped.
    unclipped = ((marked > 0) & (marked < 255)).all(axis=2)
    assert unclipped.mean() > 0.9
    assert np.array_equal(diff[..., 0][unclipped], diff[..., 1][unclipped])
    assert np.array_equal(diff[..., 0][unclipped], diff[..., 2][unclipped])
    # The same in every frame (no flicker): marking is deterministic.
    assert np.array_equal(embed_watermark(portrait), marked)


def v1_embed(image: np.ndarray) -> np.ndarray:
    """The mark facetwin wrote before issue 15 (commit 3e99dd1), rebuilt as a reference: one
    64 x 64 grid of cells stretched over the frame, with the same strength map as now."""
    h, w = image.shape[:2]
    cells = np.random.default_rng(0x66616365).choice(np.array([-1.0, 1.0], np.float32), size=(64, 64))
    pattern = cv2.resize(cells, (w, h), interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA
    ).astype(np.float32)
    mean = cv2.GaussianBlur(small, (0, 0), 1.0)
    var = cv2.GaussianBlur(small * small, (0, 0), 1.0) - mean * mean
    activity = np.clip(0.5 + np.sqrt(np.maximum(var, 0.0)) / 8.0, 0.5, 1.5)
    delta = pattern * 3.0 * cv2.resize(activity, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(image.astype(np.float32) + delta[..., None] + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper", "coffee", "chelsea"])
def test_mark_costs_no_more_than_the_v1_mark(request, name):
    # Issue 15: no visible cost for the new robustness, PSNR as before or better.
    if name in ("coffee", "chelsea"):
        import skimage.data

        image = np.ascontiguousarray(getattr(skimage.data, name)())
    else:
        image = request.getfixturevalue(name)
    now, before = psnr(embed_watermark(image), image), psnr(v1_embed(image), image)
    assert now >= before, (now, before)
    assert now >= 39.0


def test_files_marked_by_v1_are_still_found(portrait):
    marked = v1_embed(portrait)
    assert watermark_score(marked) >= THRESHOLD
    assert watermark_score(h264([marked], crf=28)[0]) >= THRESHOLD
    assert watermark_score(half(marked)) >= THRESHOLD


def test_mark_is_stronger_where_the_picture_is_busy(grace_hopper):
    # Flat areas get about half the base strength, textured ones up to 1.5x.
    diff = np.abs(embed_watermark(grace_hopper).astype(int) - grace_hopper)[..., 1].astype(np.float32)
    grey = cv2.cvtColor(grace_hopper, cv2.COLOR_RGB2GRAY).astype(np.float32)
    activity = np.sqrt(np.maximum(cv2.GaussianBlur(grey * grey, (0, 0), 4) - cv2.GaussianBlur(grey, (0, 0), 4) ** 2, 0))
    flat, busy = activity < np.percentile(activity, 20), activity > np.percentile(activity, 80)
    assert diff[busy].mean() > 1.5 * diff[flat].mean()


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_mark_survives_reencoding_and_halving(portrait, transform):
    changed = TRANSFORMS[transform](embed_watermark(portrait))
    assert watermark_score(changed) >= THRESHOLD


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_unmarked_stays_unmarked_after_reencoding_and_halving(portrait, transform):
    assert watermark_score(TRANSFORMS[transform](portrait)) < CLEAN_MAX


@pytest.mark.parametrize("transform", GEOMETRY)
def test_mark_survives_crops_pads_flips_and_turns(portrait, transform):
    changed = GEOMETRY[transform](embed_watermark(portrait))
    assert watermark_score(changed) >= THRESHOLD


@pytest.mark.parametrize("transform", GEOMETRY)
def test_unmarked_stays_unmarked_after_crops_pads_flips_and_turns(portrait, transform):
    assert watermark_score(GEOMETRY[transform](portrait)) < CLEAN_MAX


def test_cropping_more_and_more_weakens_the_mark_gradually(astronaut):
    # No cliff at 10 %: the mark is the same tile everywhere, so what is left of the frame
    # carries it; the score falls with the area kept, not with the crop's offset.
    marked = embed_watermark(astronaut)
    scores = [watermark_score(crop(marked, f, f, f, f)) for f in (0.0, 0.1, 0.2)]
    assert all(s >= THRESHOLD for s in scores), scores
    assert scores[0] > scores[-1]


def test_other_real_pictures_score_like_noise():
    import skimage.data

    for name in ("coffee", "chelsea", "rocket", "camera"):
        image = getattr(skimage.data, name)()
        image = np.ascontiguousarray(np.stack([image] * 3, -1) if image.ndim == 2 else image[..., :3])
        assert watermark_score(image) < CLEAN_MAX, name
        assert watermark_score(embed_watermark(image)) >= THRESHOLD, name
        assert watermark_score(np.rot90(crop(embed_watermark(image), 0.1, 0.1, 0.1, 0.1)).copy()) >= THRESHOLD, name


def test_any_size_is_accepted(astronaut):
    # Smaller than the detector's grid, odd, and a single pixel: marked and scored without error.
    for shape in [(1, 1), (3, 5), (47, 33), (3, 1000)]:
        image = np.ascontiguousarray(astronaut[: shape[0], : shape[1]])
        marked = embed_watermark(image)
        assert marked.shape == image.shape
        assert np.abs(marked.astype(int) - image).max() <= 5
        assert np.isfinite(watermark_score(marked))


@pytest.mark.parametrize("level", [0, 128, 255])
def test_flat_picture_scores_zero_unmarked_but_is_found_marked(level):
    # Black and white too (a fade): half the mark is clipped away, and the marked frame
    # must not be taken for a uniform bar and cut off.
    flat = np.full((240, 320, 3), level, np.uint8)
    assert watermark_score(flat) == 0.0
    assert watermark_score(embed_watermark(flat)) >= THRESHOLD
    assert watermark_score(pad(embed_watermark(flat), 255 - level)) >= THRESHOLD


def test_bars_are_not_the_mark(astronaut):
    # A letterbox of any colour around an unmarked picture invents no mark, and around a
    # marked one costs it (almost) nothing: the bars are cut off before reading.
    marked = embed_watermark(astronaut)
    for value in (0, 16, 255):
        boxed = cv2.copyMakeBorder(astronaut, 60, 60, 0, 0, cv2.BORDER_CONSTANT, value=(value,) * 3)
        assert watermark_score(boxed) < CLEAN_MAX
        boxed = cv2.copyMakeBorder(marked, 60, 60, 0, 0, cv2.BORDER_CONSTANT, value=(value,) * 3)
        assert watermark_score(boxed) >= 0.9 * watermark_score(marked)


@pytest.mark.parametrize(
    "bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), np.float32)]
)
def test_bad_arrays_are_refused(bad):
    with pytest.raises(InvalidOptionError, match="image"):
        embed_watermark(bad)
    with pytest.raises(InvalidOptionError, match="image"):
        watermark_score(bad)
    with pytest.raises(InvalidOptionError, match="image"):
        WatermarkReader().add(bad)


def _decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize("crf", [23, 28])
def test_reader_adds_up_the_mark_over_moving_frames(moving_video, crf):
    frames = h264([embed_watermark(f) for f in _decode(moving_video)], crf=crf)
    reader = WatermarkReader()
    scores = [reader.add(f) for f in frames]
    assert scores == [watermark_score(f) for f in frames]
    result = reader.result()
    assert (result.frames, result.frames_marked) == (len(frames), sum(s >= THRESHOLD for s in scores))
    assert result.found and result.score >= THRESHOLD
    # The picture moves and averages out, the mark does not: the video scores above its
    # average frame (not always above its best: at CRF 28 the I-frame alone scores higher).
    assert result.score > np.mean(scores) + 2.0
    if crf == 28:
        assert min(scores) < THRESHOLD  # some frames alone miss the mark; the video does not


def test_reader_on_unmarked_video_stays_below(moving_video):
    reader = WatermarkReader()
    for frame in h264(_decode(moving_video), crf=23):
        reader.add(frame)
    result = reader.result()
    assert result.frames == 12 and result.frames_marked == 0
    assert not result.found and result.score < CLEAN_MAX


def test_reader_finds_a_cropped_turned_reencoded_video(moving_video):
    # The same crop and turn in every frame: the frames still add up.
    frames = [
        np.ascontiguousarray(np.rot90(crop(embed_watermark(f), 0.1, 0.05, 0.0, 0.1))) for f in _decode(moving_video)
    ]
    reader = WatermarkReader()
    for frame in h264(frames, crf=28):
        reader.add(frame)
    assert reader.result().found, reader.result()


def test_reader_on_a_still_video_scores_as_its_frame(astronaut):
    marked = embed_watermark(astronaut)
    reader = WatermarkReader()
    for _ in range(5):
        reader.add(marked)
    assert reader.result().score == pytest.approx(watermark_score(marked), rel=1e-4)


def test_empty_reader_finds_nothing():
    result = WatermarkReader().result()
    assert (result.score, result.frames, result.frames_marked, result.found) == (0.0, 0, 0, False)


@pytest.mark.parametrize("score", [-2.0, 0.0, 1.5, THRESHOLD, 8.0])
def test_false_alarm_is_the_normal_tail(score):
    result = WatermarkResult(score, 1, int(score >= THRESHOLD))
    assert result.false_alarm == pytest.approx(1 - NormalDist().cdf(score), rel=1e-6, abs=1e-15)
    assert result.found is (score >= THRESHOLD)


# --- real videos ----------------------------------------------------------------------------

# Different sizes and kinds: 426x240 at 5 fps, 720p with two people, portrait 480x908
# (odd when halved), 512x388 talking head.
REAL_VIDEOS = ["faceswap_test.mp4", "multi_stiller_wilson.mp4", "portrait_s20.mp4", "talking_obama.mp4"]


@lru_cache(maxsize=None)
def _spread_frames(path, n: int = 5) -> tuple[np.ndarray, ...]:
    """n frames spread evenly over the video (read once per session; callers do not change them)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames
        picks = set(np.linspace(0, total - 1, n).round().astype(int).tolist())
        frames = []
        for index, frame in enumerate(container.decode(stream)):
            if index in picks:
                frames.append(frame.to_ndarray(format="rgb24"))
            if index >= max(picks):
                break
    assert len(frames) == n
    return tuple(frames)


def _read_video(frames) -> WatermarkResult:
    reader = WatermarkReader()
    for frame in frames:
        reader.add(frame)
    return reader.result()


@pytest.mark.parametrize("name", REAL_VIDEOS)
def test_real_video_frames(name):
    frames = _spread_frames(shared_data("videos", name))
    marked = [embed_watermark(f) for f in frames]
    clean_scores = [watermark_score(f) for f in frames]
    assert all(s < CLEAN_MAX for s in clean_scores), clean_scores
    assert all(psnr(m, f) >= 38.0 for m, f in zip(marked, frames))
    after = {
        "half": [watermark_score(half(f)) for f in marked],
        "crop_10_turn_90": [watermark_score(np.rot90(crop(f, 0.1, 0.1, 0.1, 0.1)).copy()) for f in marked],
    }
    for what, scores in after.items():
        assert min(scores) >= THRESHOLD, (what, scores)
    # re-encoding or halving the unmarked frames invents no mark
    assert all(watermark_score(f) < CLEAN_MAX for f in h264(list(frames)))
    assert all(watermark_score(half(f)) < CLEAN_MAX for f in frames)
    # Re-encoded, halved and re-encoded, or cropped, turned and re-encoded at CRF 28, the
    # video as a whole (what verify reads) is still found.
    assert _read_video(h264(marked)).found
    assert _read_video(h264([half(f) for f in marked])).found
    turned = [np.rot90(crop(f, 0.1, 0.1, 0.1, 0.1)).copy() for f in marked]
    assert _read_video(h264(turned, crf=28)).found


@pytest.mark.parametrize("size", [(854, 480), (640, 360)])
def test_720p_scaled_down_the_usual_ladder_is_found(size):
    # 8 px cells become 5.3 px at 480p and 4 px at 360p, both sizes the reader tries.
    for frame in _spread_frames(shared_data("videos", "portrait_s18.mp4"))[:2]:
        scaled = cv2.resize(embed_watermark(frame), size, interpolation=cv2.INTER_AREA)
        assert watermark_score(scaled) >= THRESHOLD
        assert watermark_score(cv2.resize(frame, size, interpolation=cv2.INTER_AREA)) < CLEAN_MAX


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            "faceswap_test.mp4",
            marks=pytest.mark.xfail(
                strict=True,
                reason=(
                    "426x240 has 6 px cells; 5 frames spread over the clip are 5 scene changes for the "
                    "encoder, and one P-frame alone scores 4.7 after CRF 23 ultrafast (the v1 mark: 6.2 at "
                    "that frame; the video as a whole 14.7)"
                ),
            ),
        ),
        *[name for name in REAL_VIDEOS if name != "faceswap_test.mp4"],
    ],
)
def test_real_video_frames_reencoded_each_found(name):
    frames = _spread_frames(shared_data("videos", name))
    scores = [watermark_score(f) for f in h264([embed_watermark(f) for f in frames])]
    assert min(scores) >= THRESHOLD, scores


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            "faceswap_test.mp4",
            marks=pytest.mark.xfail(
                strict=True,
                reason=(
                    "426x240 halved is 213x120: cells of 3 px; frames alone then score 1.0-15 after CRF 23 "
                    "(the v1 mark: 3.7-5.4; the video as a whole 13.5)"
                ),
            ),
        ),
        *[name for name in REAL_VIDEOS if name != "faceswap_test.mp4"],
    ],
)
def test_real_video_frames_halved_then_reencoded_each_found(name):
    frames = _spread_frames(shared_data("videos", name))
    scores = [watermark_score(f) for f in h264([half(embed_watermark(f)) for f in frames])]
    assert min(scores) >= THRESHOLD, scores


def _float_embed(image: np.ndarray) -> np.ndarray:
    """The mark as embed_watermark added it before issue 19: in float32, rounded half up."""
    from facetwin.forensics.watermark import _pattern, _strength

    h, w = image.shape[:2]
    out = image.astype(np.float32) + (_pattern(w, h) * _strength(image))[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def test_the_integer_mark_equals_the_float_one(portrait):
    """Saturating uint8 arithmetic gives the pixels of the float path (a portrait at three
    sizes, a view into a larger array, noise, black and white), except where float32 itself
    rounded: 12 + 2.4999998 is 14.5 in float32, which the old path rounded up to 15; the
    exact sum rounds to 14. Such sums sit on a half level (flat regions' strength is a
    constant, so many do): one level apart there, nowhere else, and a score as strong."""
    import cv2

    from facetwin.forensics.watermark import _pattern, _strength

    rng = np.random.default_rng(3)
    images = [cv2.resize(portrait, size) for size in ((1280, 720), (641, 359), (1920, 1080))]
    images += [portrait[10:300:2, 5:400], rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)]
    images += [np.zeros((90, 120, 3), np.uint8), np.full((90, 120, 3), 255, np.uint8)]
    for image in images:
        now, before = embed_watermark(image), _float_embed(np.ascontiguousarray(image))
        off = np.abs(now.astype(int) - before).max(axis=2)
        delta = _pattern(image.shape[1], image.shape[0]) * _strength(image)
        half_level = np.abs(delta - np.floor(delta) - 0.5) < 1e-5
        assert off.max() <= 1 and not (off[~half_level]).any()
        # As strong as before (within 0.5 %); on a white frame, where the mark can only take
        # away, exact rounding keeps more of it (31.2 sigma against 27.8).
        assert watermark_score(now) >= 0.995 * watermark_score(before)
