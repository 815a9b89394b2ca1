"""The one place that validates arguments of public functions.

Messages name the argument, what was expected and what arrived, so a failing call
explains itself without a debugger.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from facetwin.errors import InvalidOptionError

T = TypeVar("T")

__all__ = [
    "check_array",
    "check_tensor",
    "check_choice",
    "check_range",
    "check_number",
    "check_path",
    "check_paths",
    "check_config",
    "described",
]


def _shape_matches(actual: Sequence[int], shape: Sequence[int | str]) -> bool:
    if len(actual) != len(shape):
        return False
    seen: dict[str, int] = {}
    for size, want in zip(actual, shape):
        if isinstance(want, int):
            if size != want:
                return False
        elif want != "*" and seen.setdefault(want, size) != size:
            return False
    return True


def check_array(
    x: object,
    name: str,
    shape: Sequence[int | str],
    *,
    dtypes: Sequence[type | np.dtype | str] | None = None,
) -> np.ndarray:
    """Check that ``x`` is an ndarray whose shape matches ``shape``.

    ``shape`` holds ints for fixed sizes and strings for free ones; a string repeated
    must take the same size each time, and ``"*"`` matches any size.

    >>> check_array(np.zeros((68, 2)), "landmarks", [68, 2]).shape
    (68, 2)
    >>> check_array(np.zeros((5, 2)), "landmarks", [68, 2])
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: landmarks must be an array of shape (68, 2), got shape (5, 2)
    """
    expected = "an array of shape (" + ", ".join(str(s) for s in shape) + ")"
    if not isinstance(x, np.ndarray):
        raise InvalidOptionError(name, type(x).__name__, expected)
    if not _shape_matches(x.shape, shape):
        raise InvalidOptionError(name, _Shape(x.shape), expected)
    if dtypes is not None and not any(x.dtype == np.dtype(d) for d in dtypes):
        names = ", ".join(np.dtype(d).name for d in dtypes)
        raise InvalidOptionError(name, _Shape(x.dtype.name, "dtype"), f"of dtype {names}")
    return x


def check_tensor(x: object, name: str, shape: Sequence[int | str], *, floating: bool = False):
    """``check_array`` for torch tensors: same shape rules and messages.

    >>> import torch
    >>> check_tensor(torch.zeros(2, 3), "x", ["B", 4])
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: x must be a tensor of shape (B, 4), got shape (2, 3)
    """
    import torch

    expected = "a tensor of shape (" + ", ".join(str(s) for s in shape) + ")"
    if not isinstance(x, torch.Tensor):
        raise InvalidOptionError(name, type(x).__name__, expected)
    if not _shape_matches(tuple(x.shape), shape):
        raise InvalidOptionError(name, _Shape(tuple(x.shape)), expected)
    if floating and not x.is_floating_point():
        raise InvalidOptionError(name, _Shape(x.dtype, "dtype"), "a floating-point tensor")
    return x


def check_choice(value: object, name: str, choices: Sequence[object]) -> None:
    """Check that ``value`` is one of ``choices``.

    >>> check_choice("hog", "detector", ["hog", "yunet"])
    >>> check_choice("mtcnn", "detector", ["hog", "yunet"])
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: detector must be one of hog, yunet, got 'mtcnn'
    """
    if value not in choices:
        raise InvalidOptionError(name, value, "one of " + ", ".join(str(c) for c in choices))


def check_range(
    value: float,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> None:
    """Check ``low <= value <= high`` (``low < value`` with ``low_open``).

    >>> check_range(0.5, "threshold", low=0, high=1)
    >>> check_range(0, "crop_size", low=0, low_open=True)
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: crop_size must be > 0, got 0
    """
    check_number(value, name)  # "a" < 1 would raise a bare TypeError from the comparison
    parts = []
    bad = False
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
        bad = bad or (value <= low if low_open else value < low)
    if high is not None:
        parts.append(f"<= {high}")
        bad = bad or value > high
    if bad or value != value:  # NaN fails every comparison, so catch it explicitly
        raise InvalidOptionError(name, value, " and ".join(parts) or "a number")


def check_number(value: object, name: str, *, integral: bool = False) -> float:
    """Check that ``value`` is a real number (an int with ``integral``) and return it.

    ``check_range`` only compares, so call this first where a caller may pass a string.

    >>> check_number(2, "erode")
    2.0
    >>> check_number("2", "erode")
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: erode must be a number, got '2'
    """
    kind = numbers.Integral if integral else numbers.Real
    # bool is an Integral, but erode=True is a mistake, not a radius of one pixel.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidOptionError(name, value, "an int" if integral else "a number")
    return int(value) if integral else float(value)


def check_path(value: object, name: str) -> Path:
    """Check that ``value`` names a file or folder (str or os.PathLike) and return it as a Path.

    >>> check_path("faces", "output")
    PosixPath('faces')
    >>> check_path(5, "output")
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: output must be a path (str or os.PathLike), got int 5
    """
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes) and str(value):
        return Path(value)
    raise InvalidOptionError(name, _Shape(value, type(value).__name__), "a path (str or os.PathLike)")


def check_paths(value: object, name: str) -> list[Path]:
    """One path or a non-empty sequence of paths, as a list of Paths.

    >>> check_paths(["a.mp4", "b.mp4"], "inputs")
    [PosixPath('a.mp4'), PosixPath('b.mp4')]
    """
    if isinstance(value, (str, os.PathLike)):
        return [check_path(value, name)]
    if isinstance(value, Sequence) and value:
        return [check_path(item, f"{name}[{i}]") for i, item in enumerate(value)]
    raise InvalidOptionError(name, _Shape(value, type(value).__name__), "a path or a list of paths")


def check_config(value: object, name: str, cls: type[T]) -> T:
    """``cls()`` for None, ``value`` when it is a ``cls``; anything else is refused.

    >>> from facetwin.config import TrainConfig
    >>> check_config({"steps": 5}, "config", TrainConfig)
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: config must be a TrainConfig or None (the defaults), got dict {'steps': 5}
    """
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    raise InvalidOptionError(
        name,
        _Shape(value, type(value).__name__),
        f"{'an' if cls.__name__[0] in 'AEIOU' else 'a'} {cls.__name__} or None (the defaults)",
    )


def described(value: object, label: str) -> object:
    """A value that prints as 'LABEL VALUE' in an error message ("got dtype float32")."""
    return _Shape(value, label)


class _Shape:
    """Repr helper so error messages read 'got shape (5, 2)' rather than 'got (5, 2)'."""

    def __init__(self, value: object, label: str = "shape") -> None:
        self.value, self.label = value, label

    def __repr__(self) -> str:
        return f"{self.label} {self.value}"
