"""Tests for facetwin._check: the one argument-validation helper module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facetwin._check import check_array, check_choice, check_range
from facetwin.errors import FacetwinError, InvalidOptionError

# --- check_array -------------------------------------------------------------------


def test_check_array_returns_the_same_object():
    x = np.zeros((68, 2))
    assert check_array(x, "landmarks", [68, 2]) is x


@pytest.mark.parametrize(
    ("shape", "spec"),
    [
        ((68, 2), [68, 2]),
        ((5, 2), ["N", 2]),
        ((0, 2), ["N", 2]),
        ((3, 4, 4), ["C", "H", "H"]),  # a repeated name takes one size
        ((7, 3, 9), ["*", 3, "*"]),  # "*" takes any size, independently
        ((), []),
    ],
)
def test_check_array_accepts(shape, spec):
    assert check_array(np.zeros(shape), "x", spec).shape == shape


@pytest.mark.parametrize(
    ("shape", "spec", "message"),
    [
        ((5, 2), [68, 2], "landmarks must be an array of shape (68, 2), got shape (5, 2)"),
        ((68, 3), [68, 2], "landmarks must be an array of shape (68, 2), got shape (68, 3)"),
        ((68,), [68, 2], "landmarks must be an array of shape (68, 2), got shape (68,)"),
        ((1, 68, 2), [68, 2], "landmarks must be an array of shape (68, 2), got shape (1, 68, 2)"),
        ((3, 4, 5), ["C", "H", "H"], "landmarks must be an array of shape (C, H, H), got shape (3, 4, 5)"),
        ((2, 3), [], "landmarks must be an array of shape (), got shape (2, 3)"),
    ],
)
def test_check_array_rejects_shape(shape, spec, message):
    with pytest.raises(InvalidOptionError) as info:
        check_array(np.zeros(shape), "landmarks", spec)
    assert str(info.value) == message
    assert info.value.name == "landmarks"


def test_check_array_rejects_non_array_naming_its_type():
    with pytest.raises(InvalidOptionError, match=r"^box must be an array of shape \(4\), got 'list'$"):
        check_array([0, 0, 1, 1], "box", [4])


def test_check_array_dtype():
    x = np.zeros((2, 2), np.uint8)
    assert check_array(x, "image", ["H", "W"], dtypes=[np.uint8, "uint16"]) is x
    with pytest.raises(InvalidOptionError) as info:
        check_array(x.astype(np.float64), "image", ["H", "W"], dtypes=[np.uint8, "uint16"])
    assert str(info.value) == "image must be of dtype uint8, uint16, got dtype float64"


def test_check_array_shape_is_checked_before_dtype():
    with pytest.raises(InvalidOptionError, match="shape"):
        check_array(np.zeros(3, np.float64), "image", ["H", "W"], dtypes=[np.uint8])


# --- check_choice ------------------------------------------------------------------


def test_check_choice_accepts_a_member():
    assert check_choice("yunet", "detector", ["hog", "yunet"]) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mtcnn", "detector must be one of hog, yunet, got 'mtcnn'"),
        ("HOG", "detector must be one of hog, yunet, got 'HOG'"),  # names are exact
        (None, "detector must be one of hog, yunet, got None"),
    ],
)
def test_check_choice_rejects(value, message):
    with pytest.raises(InvalidOptionError) as info:
        check_choice(value, "detector", ["hog", "yunet"])
    assert str(info.value) == message
    assert info.value.value == value


# --- check_range -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (0, {"low": 0}),
        (1, {"low": 0, "high": 1}),
        (0.5, {"low": 0, "high": 1, "low_open": True}),
        (-1e9, {"high": 0}),
        (1e9, {}),
    ],
)
def test_check_range_accepts(value, kwargs):
    assert check_range(value, "x", **kwargs) is None


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (-1, {"low": 0}, "x must be >= 0, got -1"),
        (0, {"low": 0, "low_open": True}, "x must be > 0, got 0"),
        (1.5, {"low": 0, "high": 1}, "x must be >= 0 and <= 1, got 1.5"),
        (2, {"high": 1}, "x must be <= 1, got 2"),
        (math.nan, {"low": 0, "high": 1}, "x must be >= 0 and <= 1, got nan"),
        (math.nan, {}, "x must be a number, got nan"),
    ],
)
def test_check_range_rejects(value, kwargs, message):
    with pytest.raises(InvalidOptionError) as info:
        check_range(value, "x", **kwargs)
    assert str(info.value) == message


def test_errors_are_facetwin_and_builtin_value_errors():
    with pytest.raises(ValueError):
        check_range(-1, "x", low=0)
    with pytest.raises(FacetwinError):
        check_choice("a", "x", ["b"])
