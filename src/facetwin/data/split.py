"""Which frames of a video a model may train on and which it is tested on.

Neighbouring frames of a video are nearly the same picture, so a test frame drawn at
random from footage the model trained on measures memory, not generalisation. The
split is therefore by time: the test part is the end of the video, and a gap of
footage nobody uses separates it from the training part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from facetwin._check import check_number, check_range
from facetwin.errors import InvalidOptionError

__all__ = ["TimeSplit", "time_split"]

#: Products such as 0.2 * 100 or 1.0 * 29.97 carry float round-off; a hair below a whole
#: number still counts as that number before rounding up.
_ROUND_OFF = 1e-9


@dataclass(frozen=True)
class TimeSplit:
    """Frame indices of the two parts of one video.

    Attributes:
        train: frames a model may train on (and take reference identities from), from 0.
        test: frames held out for evaluation, up to the video's end.
    """

    train: range
    test: range

    @property
    def gap(self) -> int:
        """Number of unused frames between the two parts.

        >>> TimeSplit(range(0, 70), range(80, 100)).gap
        10
        """
        return self.test.start - self.train.stop


def time_split(frame_count: int, fps: float, *, held_out: float = 0.2, gap_seconds: float = 1.0) -> TimeSplit:
    """Split a video's frames into an earlier training part and a later test part.

    The test part is the last ``ceil(held_out * frame_count)`` frames. The
    ``ceil(gap_seconds * fps)`` frames before it belong to neither part, so the last
    training frame is more than ``gap_seconds`` away from the first test frame (each
    frame lasts ``1 / fps``; with the default, no training frame is within a second of
    a test frame). Everything before the gap is training.

    Args:
        frame_count: frames in the video, >= 2.
        fps: frames per second, > 0.
        held_out: fraction of the frames held out for testing, in (0, 0.9].
        gap_seconds: seconds of footage left unused between the parts, >= 0.

    Raises:
        InvalidOptionError: an argument out of range, or a video too short to leave at
            least one training frame before the gap.

    >>> time_split(250, 25.0)
    TimeSplit(train=range(0, 175), test=range(200, 250))
    >>> time_split(30, 25.0)
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: frame_count must be at least 33 to leave training frames \
before a 25-frame gap and 20% held out, got 30
    """
    frame_count = int(check_number(frame_count, "frame_count", integral=True))
    check_range(frame_count, "frame_count", low=2)
    fps = _finite(fps, "fps")
    check_range(fps, "fps", low=0, low_open=True)
    held_out = check_number(held_out, "held_out")
    check_range(held_out, "held_out", low=0, high=0.9, low_open=True)
    gap_seconds = _finite(gap_seconds, "gap_seconds")
    check_range(gap_seconds, "gap_seconds", low=0)

    test_count = max(1, math.ceil(held_out * frame_count - _ROUND_OFF))
    gap = max(0, math.ceil(gap_seconds * fps - _ROUND_OFF))
    train_stop = frame_count - test_count - gap
    if train_stop < 1:
        raise InvalidOptionError(
            "frame_count",
            frame_count,
            f"at least {_shortest(held_out, gap)} to leave training frames before a {gap}-frame gap "
            f"and {held_out:.0%} held out",
        )
    return TimeSplit(train=range(0, train_stop), test=range(frame_count - test_count, frame_count))


def _finite(value: object, name: str) -> float:
    value = check_number(value, name)
    if not math.isfinite(value):
        raise InvalidOptionError(name, value, "a finite number")
    return value


def _shortest(held_out: float, gap: int) -> int:
    """The fewest frames that leave one training frame: the smallest n with n - ceil(h n) - gap >= 1.

    >>> _shortest(0.2, 25)
    33
    """
    n = max(2, math.floor((gap + 1) / (1 - held_out)))
    while n - max(1, math.ceil(held_out * n - _ROUND_OFF)) - gap < 1:
        n += 1
    return n
