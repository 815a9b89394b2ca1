"""Command line: parse, build a config, call the library, report.

Bad input (a ``FacetwinError``) prints one line and exits 2; anything else is a bug:
one line pointing at a crash log with the traceback, exit 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from facetwin import __version__
from facetwin.config import ExtractConfig
from facetwin.errors import FacetwinError, InvalidOptionError
from facetwin.faces.detect import DETECTORS

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

_DEFAULTS = ExtractConfig()


# ExtractConfig's options: (group, flag, config field, argparse keywords, help). The
# default each help text ends with is read from the config, so it cannot drift.
_EXTRACT_OPTIONS: list[tuple[str, str, str, dict, str]] = [
    ("detection", "--detector", "detector", {"choices": sorted(DETECTORS)},
     "face detector: yunet (OpenCV CNN; finds small and turned faces) or hog (dlib, the original code's)"),
    ("detection", "--hog-upsample", "hog_upsample", {"type": int, "metavar": "N"},
     "hog only: double the image N times to find faces half as small each time (each costs ~4x)"),
    ("detection", "--yunet-threshold", "yunet_threshold", {"type": float, "metavar": "P"},
     "yunet only: minimum detection confidence 0-1"),
    ("detection", "--min-size", "min_size", {"type": int, "metavar": "PX"},
     "drop faces whose detection box is narrower than PX pixels (0 keeps all)"),
    ("whose faces", "--ref-face", "ref_faces", {"nargs": "+", "metavar": "IMG"},
     "photos of the one person to keep (largest face in each); other people's faces are dropped"),
    ("whose faces", "--ref-threshold", "ref_threshold", {"type": float, "metavar": "D"},
     "identity distance (dlib ResNet) under which a face is the reference person; lower is stricter"),
    ("whose faces", "--identity", "identity", {"action": "store_true"},
     "store a 128-d identity vector for every face in the alignments file (~75 ms a face on a 2-core CPU)"),
    ("aligned crops", "--crop-size", "crop_size", {"type": int, "metavar": "PX"},
     "side of the square aligned crop in pixels"),
    ("aligned crops", "--coverage", "coverage", {"type": float, "metavar": "F"},
     "fraction of the crop spanned by the inner face (brows to lips); smaller shows more head; "
     "0.625 is the original code's framing"),
    ("aligned crops", "--png-compression", "png_compression", {"type": int, "metavar": "0-9"},
     "PNG compression level; crops are lossless at every level"),
    ("video", "--every", "every", {"type": int, "metavar": "N"},
     "keep every Nth frame (fewer, more varied training faces)"),
    ("video", "--redetect-every", "redetect_every", {"type": int, "metavar": "N"},
     "search the whole frame every N frames; between, faces are followed near their last position"),
    ("video", "--no-smooth", "smooth", {"action": "store_false"},
     "do not smooth landmarks over time (crops will jitter)"),
    ("video", "--smooth-min-cutoff", "smooth_min_cutoff", {"type": float, "metavar": "HZ"},
     "smoothing strength at rest (One Euro filter cut-off); lower is steadier but lags more"),
    ("video", "--smooth-beta", "smooth_beta", {"type": float, "metavar": "B"},
     "how quickly smoothing lets go when the face moves fast"),
]
_FLAGS = {field: flag for _, flag, field, _, _ in _EXTRACT_OPTIONS}


def _add_extract_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``ExtractConfig``; defaults are None so unset options keep the config's."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for group, flag, field, kwargs, text in _EXTRACT_OPTIONS:
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        default = getattr(_DEFAULTS, field)
        if kwargs.get("action") in ("store_true", "store_false"):
            suffix = ""
        else:
            suffix = f". Default: {', '.join(default) if isinstance(default, tuple) else default}"
            if field == "ref_faces":
                suffix = ". Default: keep everyone"
        groups[group].add_argument(flag, dest=field, default=None, help=text + suffix, **kwargs)


def _config_from(args: argparse.Namespace) -> ExtractConfig:
    fields = ExtractConfig.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    try:
        return ExtractConfig(**given)
    except InvalidOptionError as exc:
        # Name the option as the user typed it, not the config field.
        flag = _FLAGS.get(exc.name, exc.name)
        raise InvalidOptionError(flag, exc.value, exc.expected) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facetwin",
        description="Learn a face swap between two people from ordinary footage. "
        "Every output is marked as synthetic.",
    )
    parser.add_argument("--version", action="version", version=f"facetwin {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only the summary and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ex = sub.add_parser(
        "extract",
        help="find, align and save the faces in videos or photos",
        description="Find every face in a video, a folder of images or image files; align it to "
        "a mean face (Umeyama on 51 landmarks) and save a lossless crop plus alignments.json. "
        "An interrupted run continues where it stopped when run again.",
    )
    ex.add_argument("inputs", nargs="+", metavar="INPUT", help="a video, a folder of images, or image files")
    ex.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the crops and alignments.json")
    ex.add_argument(
        "--overwrite", action="store_true",
        help="replace an earlier extraction in DIR instead of continuing it",
    )
    _add_extract_options(ex)

    demo = sub.add_parser(
        "demo",
        help="run the pipeline on two portraits shipped with the installed packages",
        description="Extract the faces of two portraits that ship inside installed packages "
        "(scikit-image's astronaut, matplotlib's Grace Hopper) and draw the result to "
        "DIR/extract.png. Needs no data and no network.",
    )
    demo.add_argument("-o", "--output", default="facetwin-demo", metavar="DIR", help="output folder. Default: ./facetwin-demo")
    _add_extract_options(demo)
    return parser


class _Bar:
    """tqdm progress over frames, drawn only by the CLI (the library only calls back)."""

    def __init__(self, desc: str, enabled: bool) -> None:
        self.desc, self.enabled, self.bar = desc, enabled, None

    def __call__(self, done: int, total: int, faces: int) -> None:
        if not self.enabled:
            return
        if self.bar is not None and done <= self.bar.n and done <= 1:
            self.close()  # a new run through the same callback (the demo's second portrait)
            self.bar = None
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total or None, initial=done - 1, desc=self.desc, unit="frame",
                            dynamic_ncols=True, file=sys.stderr, mininterval=0.5)
        self.bar.n = done
        self.bar.set_postfix_str(f"{faces} faces", refresh=False)
        self.bar.update(0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _report(summary, label: str) -> str:
    rate = summary.frames_read / summary.seconds if summary.seconds > 0 else 0.0
    parts = [f"{label}: {summary.frames_read} frames read, {summary.faces_saved} faces saved, "
             f"{summary.frames_without_face} frames without a face"]
    if summary.dropped_small:
        parts.append(f"{summary.dropped_small} too small")
    if summary.dropped_other_person:
        parts.append(f"{summary.dropped_other_person} of other people dropped")
    if summary.already_complete:
        parts.append("already complete, nothing to do")
    elif summary.resumed_at is not None:
        parts.append(f"resumed at frame {summary.resumed_at}")
    text = ", ".join(parts)
    if not summary.already_complete:
        text += f" ({summary.seconds:.1f} s, {rate:.1f} frames/s)"
    return text + f" -> {summary.output}"


def _cmd_extract(args: argparse.Namespace) -> int:
    from facetwin.extract import extract

    config = _config_from(args)
    bar = _Bar("extract", not args.quiet)
    try:
        summary = extract(args.inputs, args.output, config=config, overwrite=args.overwrite, progress=bar)
    finally:
        bar.close()
    print(_report(summary, "extract"))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from facetwin.demo import run_demo

    bar = _Bar("demo", not args.quiet)
    try:
        result = run_demo(args.output, config=_config_from(args), progress=bar)
    finally:
        bar.close()
    for side, summary in result.summaries.items():
        print(_report(summary, f"demo {side}"))
    print(f"figure: {result.figure}")
    return EXIT_OK


def _crash_log(exc: BaseException) -> Path:
    path = Path(tempfile.gettempdir()) / f"facetwin-crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    path.write_text(f"facetwin {__version__}\nargv: {sys.argv}\n\n{text}", encoding="utf-8")
    return path


def _terminate_as_interrupt() -> None:
    """Treat SIGTERM (a job scheduler, `kill`) like Ctrl-C, so work in progress is saved."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 internal error, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    commands = {"extract": _cmd_extract, "demo": _cmd_demo}
    _terminate_as_interrupt()
    try:
        return commands[args.command](args)
    except FacetwinError as exc:
        print(f"facetwin {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"facetwin {args.command}: interrupted; what was done is saved, run the same "
              "command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: keep the traceback, show one line
        log = _crash_log(exc)
        print(f"facetwin {args.command}: internal error: {type(exc).__name__}: {exc} "
              f"(traceback in {log})", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
