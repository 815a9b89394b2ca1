"""Tests for facetwin.data.split: exact ranges, the gap, and refusals."""

from __future__ import annotations

import math

import pytest

from facetwin.data.split import TimeSplit, time_split
from facetwin.errors import InvalidOptionError


@pytest.mark.parametrize(
    ("frames", "fps", "options", "train", "test"),
    [
        (250, 25.0, {}, range(0, 175), range(200, 250)),
        (100, 10.0, {}, range(0, 70), range(80, 100)),
        (101, 10.0, {}, range(0, 70), range(80, 101)),  # 20.2 test frames round up to 21
        (1000, 29.97, {}, range(0, 770), range(800, 1000)),  # 29.97 frames of gap round up to 30
        (1000, 30.0, {"held_out": 0.3, "gap_seconds": 2.0}, range(0, 640), range(700, 1000)),
        (100, 25.0, {"gap_seconds": 0.0}, range(0, 80), range(80, 100)),
        (100, 25.0, {"held_out": 0.9, "gap_seconds": 0.0}, range(0, 10), range(10, 100)),
        (33, 25.0, {}, range(0, 1), range(26, 33)),  # the shortest that leaves a training frame
    ],
)
def test_exact_ranges(frames, fps, options, train, test):
    assert time_split(frames, fps, **options) == TimeSplit(train, test)


@pytest.mark.parametrize("frames", [40, 99, 250, 1001, 7919])
@pytest.mark.parametrize("fps", [10.0, 23.976, 25.0, 59.94])
@pytest.mark.parametrize("gap_seconds", [0.0, 0.5, 1.0])
def test_no_training_frame_is_within_the_gap_of_a_test_frame(frames, fps, gap_seconds):
    test_count, gap = math.ceil(round(0.2 * frames, 9)), math.ceil(round(gap_seconds * fps, 9))
    if frames - test_count - gap < 1:
        with pytest.raises(InvalidOptionError, match="to leave training frames"):
            time_split(frames, fps, gap_seconds=gap_seconds)
        return
    split = time_split(frames, fps, gap_seconds=gap_seconds)
    assert split.train.start == 0 and split.test.stop == frames and len(split.train) >= 1
    assert len(split.train) + split.gap + len(split.test) == frames
    assert len(split.test) == test_count and split.gap == gap
    # Frame i covers [i / fps, (i + 1) / fps): the unused footage lasts at least the gap.
    assert split.gap / fps >= gap_seconds - 1e-12 and (split.gap - 1) / fps < gap_seconds
    assert (split.test.start - (split.train.stop - 1)) / fps > gap_seconds


def test_too_short_a_video_names_the_shortest_that_works():
    with pytest.raises(InvalidOptionError, match="frame_count must be at least 33 .* got 32"):
        time_split(32, 25.0)
    with pytest.raises(InvalidOptionError, match="frame_count must be >= 2"):
        time_split(1, 25.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"held_out": 0.0}, "held_out must be > 0 and <= 0.9"),
        ({"held_out": 0.95}, "held_out must be > 0 and <= 0.9"),
        ({"held_out": math.nan}, "held_out must be"),
        ({"held_out": "0.2"}, "held_out must be a number"),
        ({"gap_seconds": -1.0}, "gap_seconds must be >= 0"),
        ({"gap_seconds": math.inf}, "gap_seconds must be a finite number"),
        ({"fps": 0.0}, "fps must be > 0"),
        ({"fps": math.nan}, "fps must be a finite number"),
        ({"frame_count": 100.0}, "frame_count must be an int"),
        ({"frame_count": True}, "frame_count must be an int"),
    ],
)
def test_bad_arguments_are_refused(options, message):
    arguments = {"frame_count": 1000, "fps": 25.0} | options
    with pytest.raises(InvalidOptionError, match=message):
        time_split(**arguments)
