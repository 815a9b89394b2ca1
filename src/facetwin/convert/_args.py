"""Type checks for scalar arguments of the conversion functions.

``facetwin._check.check_range`` compares values but does not reject a string or a bool
that happens to pass (``check_range("3", ...)`` with no bounds returns quietly), so the
conversion functions check the type here first and then the range there.
"""

from __future__ import annotations

import numbers

from facetwin.errors import InvalidOptionError

__all__ = ["check_number"]


def check_number(value: object, name: str, *, integral: bool = False) -> float:
    """Check that ``value`` is a real number (an int with ``integral``) and return it.

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
