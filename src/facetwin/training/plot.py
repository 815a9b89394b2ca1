"""Loss history: one CSV row per logging step, and the loss plot drawn from it.

Why CSV: a row is appended as one short write and flushed, so killing the trainer
loses at most the row being written, and nothing already written is ever rewritten;
any spreadsheet or pandas reads it. A line without its newline is a row cut short by
a kill: readers ignore it, and the next append removes it before writing.

Why the plot looks as it does: raw losses are noisy batch to batch, so each curve is
drawn thin as logged and thick smoothed (an exponential moving average of the log,
so it follows the log-scale axis), with the latest smoothed value in the legend; that
number is the one to compare with the reference log in DESIGN.md.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from facetwin.errors import FacetwinError, InputNotFoundError, InvalidOptionError
from facetwin.io.atomic import atomic_write_bytes

__all__ = ["append_history", "read_history", "plot_history", "truncate_history", "HistoryFormatError", "PLOT_SIZE"]

log = logging.getLogger(__name__)

PLOT_SIZE = (1000, 600)  # (width, height) of loss.png in pixels
_DPI = 100
_RATE_COLUMN = "samples_per_s"
_FORBIDDEN = set(',"\r\n')  # characters a column name may not hold (keeps parsing a plain split)


class HistoryFormatError(FacetwinError, ValueError):
    """A history file that cannot be appended to or read, and why.

    Belongs in facetwin/errors.py; lives here until moved.
    """

    def __init__(self, path: str | Path, problem: str, remedy: str = "") -> None:
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"history {self.path}: {problem}" + (f"; {remedy}" if remedy else ""))


def append_history(path: str | Path, row: Mapping[str, int | float | None]) -> None:
    """Append one row to a CSV history file, creating it (with its header) if needed.

    The first row fixes the columns. Later rows may leave columns out (written empty,
    read back as NaN) but may not add new ones. The row is flushed to the operating
    system before returning; a partial last line left by a killed writer is removed first.

    Args:
        path: the CSV file (``history.csv`` in the model folder).
        row: column name -> number (int, float, bool, NumPy scalar) or None. Names
            may not contain commas, quotes or line breaks.

    Raises:
        InvalidOptionError: a name or value that cannot be written (a tensor: call
            ``.item()`` first).
        HistoryFormatError: the row has columns the file lacks.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "history.csv"
    >>> append_history(path, {"step": 10, "loss_a": 0.25})
    >>> append_history(path, {"step": 20, "loss_a": 0.125})
    >>> print(path.read_text(), end="")
    step,loss_a
    10,0.25
    20,0.125
    """
    path = Path(path)
    cells = {_check_name(name): _format(value, name) for name, value in row.items()}
    if not cells:
        raise InvalidOptionError("row", dict(row), "a dict with at least one column")
    try:
        f = open(path, "r+b")
    except FileNotFoundError:
        f = open(path, "w+b")
    with f:
        size = f.seek(0, os.SEEK_END)
        end = _complete_end(f, size)
        if end < size:
            log.warning("%s: dropping a partial last line (%d bytes) left by an interrupted write", path, size - end)
            f.truncate(end)
        columns: list[str] | None = None
        if end:
            f.seek(0)
            columns = f.readline().decode("utf-8", errors="replace").rstrip("\r\n").split(",")
        lines = []
        if columns is None:
            columns = list(cells)
            lines.append(",".join(columns))
        extra = [name for name in cells if name not in columns]
        if extra:
            raise HistoryFormatError(
                path,
                f"has the columns {', '.join(columns)}; a row cannot add {', '.join(extra)}",
                "move the file aside to start a new history",
            )
        lines.append(",".join(cells.get(name, "") for name in columns))
        f.seek(0, os.SEEK_END)
        # One write, flushed to the OS: a killed process loses nothing already
        # appended. No fsync: at 4 ms a row it would cost more than it protects
        # (only the rows since the last checkpoint, after a power cut).
        f.write(("\n".join(lines) + "\n").encode("utf-8"))
        f.flush()


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    """Read a history CSV: column name -> values, one per complete row, in file order.

    A column whose every value is a whole number written without a point (``step``)
    comes back as int64; the others as float64, with NaN where a row left it empty.
    A last line without its newline (cut short by a kill) is ignored; an empty file,
    or one holding only part of its header, gives ``{}``.

    Raises:
        InputNotFoundError: no such file.
        HistoryFormatError: a complete line with the wrong number of values or a value
            that is not a number.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputNotFoundError(path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HistoryFormatError(path, f"is not UTF-8 text ({error})") from error
    lines = text.split("\n")[:-1]  # the last piece is "" or a row cut short
    if not lines:
        return {}
    columns = lines[0].rstrip("\r").split(",")
    rows: list[list[str]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.rstrip("\r").split(",")
        if len(cells) != len(columns):
            raise HistoryFormatError(path, f"line {number} has {len(cells)} values for {len(columns)} columns")
        rows.append(cells)
    history: dict[str, np.ndarray] = {}
    for index, name in enumerate(columns):
        values = [cells[index] for cells in rows]
        try:
            floats = np.array([float(v) if v else math.nan for v in values], dtype=np.float64)
        except ValueError:
            bad = next(i for i, v in enumerate(values) if v and not _is_number(v))
            raise HistoryFormatError(path, f"line {bad + 2}, column {name}: {values[bad]!r} is not a number") from None
        whole = bool(values) and all(v.lstrip("-").isdigit() for v in values)
        history[name] = np.array([int(v) for v in values], dtype=np.int64) if whole else floats
    return history


def plot_history(history_csv: str | Path, out_png: str | Path, *, title: str | None = None) -> None:
    """Draw the loss curves of a history file to a PNG of ``PLOT_SIZE`` pixels, atomically.

    Every column named ``loss*`` (``loss_a``, ``loss_b``) is drawn against ``step``
    (row number if absent) on a log scale, thin as logged and thick smoothed; values
    that are not positive and finite are left out. A ``samples_per_s`` column gets
    a small axis of its own below. Where a resumed run logged a step again, the later
    rows win, so the curves read as one run.

    Args:
        history_csv: the file ``append_history`` writes.
        out_png: where to write the plot (its folder must exist).
        title: the plot's title; ``"training loss"`` if None.

    Raises:
        InputNotFoundError, HistoryFormatError: as ``read_history``.
    """
    history = read_history(history_csv)
    # Imported here: matplotlib costs ~0.3 s to import and only this function needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = len(next(iter(history.values()))) if history else 0
    steps = history["step"].astype(np.float64) if "step" in history else np.arange(rows, dtype=np.float64)
    keep = _latest_rows(steps)
    steps = steps[keep]
    rate = history[_RATE_COLUMN][keep].astype(np.float64) if _RATE_COLUMN in history else None
    if rate is not None and not np.isfinite(rate).any():
        rate = None

    fig = Figure(figsize=(PLOT_SIZE[0] / _DPI, PLOT_SIZE[1] / _DPI), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    if rate is None:
        ax = fig.add_subplot()
        ax_rate = None
    else:
        grid = fig.add_gridspec(2, 1, height_ratios=(4, 1))
        ax = fig.add_subplot(grid[0])
        ax_rate = fig.add_subplot(grid[1], sharex=ax)
    drawn = 0
    for i, name in enumerate(c for c in history if c.startswith("loss")):
        y = history[name][keep].astype(np.float64)
        ok = np.isfinite(y) & (y > 0) & np.isfinite(steps)
        if not ok.any():
            continue
        colour = f"C{i}"
        smooth = _smooth_log(y[ok])
        ax.plot(steps[ok], y[ok], color=colour, linewidth=0.6, alpha=0.35)
        ax.plot(steps[ok], smooth, color=colour, linewidth=2.0, label=f"{name}  {smooth[-1]:.4g}")
        drawn += 1
    if drawn:
        ax.set_yscale("log")
        ax.legend(loc="upper right")
    else:
        ax.text(0.5, 0.5, "no losses logged yet", ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_ylabel("loss (log scale)")
    ax.set_title(title if title is not None else "training loss")
    bottom = ax
    if ax_rate is not None and rate is not None:
        ok = np.isfinite(rate) & np.isfinite(steps)
        ax_rate.plot(steps[ok], rate[ok], color="C7", linewidth=1.0)
        ax_rate.set_ylim(bottom=0)
        ax_rate.set_ylabel("faces/s")
        ax_rate.grid(True, alpha=0.3)
        ax.tick_params(labelbottom=False)
        bottom = ax_rate
    bottom.set_xlabel("step")

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    atomic_write_bytes(out_png, buffer.getvalue())


# --- helpers ------------------------------------------------------------------------


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name or _FORBIDDEN & set(name):
        raise InvalidOptionError("column name", name, "a non-empty string without commas, quotes or line breaks")
    return name


def _format(value: object, name: str) -> str:
    """A value as CSV text that reads back exactly (repr of a float round-trips)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    raise InvalidOptionError(f"row[{name!r}]", value, "a number or None (call .item() on a tensor)")


def _complete_end(f: io.BufferedRandom, size: int) -> int:
    """Offset just past the last newline (0 if none): the end of the last complete line."""
    if size == 0:
        return 0
    f.seek(size - 1)
    if f.read(1) == b"\n":
        return size
    position = size
    while position > 0:
        start = max(0, position - 65536)
        f.seek(start)
        found = f.read(position - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _latest_rows(steps: np.ndarray) -> np.ndarray:
    """Mask of the rows to plot: a row is dropped when a later row has a step <= its own.

    A run resumed from its last checkpoint (or rolled back) logs those steps again;
    the later rows are the ones the model's history really went through.

    >>> _latest_rows(np.array([10, 20, 30, 20, 30, 40.0])).tolist()
    [True, False, False, True, True, True]
    """
    if steps.size == 0:
        return np.zeros(0, bool)
    later_min = np.minimum.accumulate(steps[::-1])[::-1]
    later_min = np.append(later_min[1:], np.inf)
    return steps < later_min


def _smooth_log(y: np.ndarray) -> np.ndarray:
    """Exponential moving average of log(y), bias-corrected, with a span of 1/20 of the points.

    >>> _smooth_log(np.array([1.0, 100.0])).round(6).tolist()
    [1.0, 100.0]
    """
    span = min(max(len(y) // 20, 1), 500)
    alpha = 2.0 / (span + 1.0)
    out = np.empty_like(y)
    mean = weight = 0.0
    for i, value in enumerate(np.log(y)):
        mean = (1 - alpha) * mean + alpha * value
        weight = (1 - alpha) * weight + alpha
        out[i] = mean / weight  # bias correction: the start is not pulled towards log(1) = 0
    return np.exp(out)


def truncate_history(path: str | Path, last_step: int) -> None:
    """Drop rows logged after ``last_step``: a run resuming (or rolling back) to that
    step trains those steps again, and they would otherwise appear twice."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = lines[:1] + [
        ln for ln in lines[1:] if ln.split(",", 1)[0].isdigit() and int(ln.split(",", 1)[0]) <= last_step
    ]
    if len(keep) != len(lines):
        atomic_write_bytes(path, "".join(keep).encode("utf-8"))
