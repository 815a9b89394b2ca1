"""Command line: parse, build a config, call the library, report.

Bad input (a ``FacetwinError``) prints one line and exits 2; anything else is a bug:
one line pointing at a crash log with the traceback, exit 1.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from facetwin._version import __version__
from facetwin.config import ConvertConfig, DatasetConfig, DetectConfig, EvaluateConfig, ExtractConfig, TrainConfig
from facetwin.demo import DEMO_STEPS
from facetwin.errors import (
    FacetwinError,
    InvalidOptionError,
    MissingExtraError,
    MissingOptionError,
    NoFaceFoundError,
    RequiredOptionError,
)
from facetwin.io.images import set_max_pixels
from facetwin.options import (
    CONVERT_OPTIONS,
    DATASET_OPTIONS,
    DETECT_FLAGS,
    DETECT_OPTIONS,
    EVALUATE_OPTIONS,
    EXTRACT_OPTIONS,
    FIND_OPTIONS,
    FLAGS,
    TRAIN_OPTIONS,
    Option,
    architectures,
    help_text,
)

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
#: ``facetwin verify``: at least one file is proven synthetic (watermark, or a valid C2PA manifest).
EXIT_SYNTHETIC = 3
#: ``facetwin verify``: no file proven synthetic, but one claims to be (unsigned metadata, or
#: a manifest invalid for it): anyone can copy those into a real photo, so they prove nothing.
EXIT_UNVERIFIED = 4

_KEY_DIR_HELP = (
    "folder of the key that signs the C2PA manifests of the outputs (made on first use; "
    "keep it to prove the files are yours). Default: $FACETWIN_KEY_DIR or ~/.config/facetwin/c2pa"
)


#: The short flags, each meaning one long flag in every command (docs/cli.md; the test of
#: the convention walks every parser against this table).
SHORT_FLAGS = {
    "--output": "-o",
    "--model": "-m",
    "--batch-size": "-b",
    "--steps": "-s",
    "--time": "-t",
    "--device": "-d",
    "--resume": "-r",
    "--jobs": "-j",
    "--config": "-c",
    "--verbose": "-v",
    "--quiet": "-q",
}


def _flags(flag: str) -> tuple[str, ...]:
    """A long flag with its short form, where it has one (the same in every command)."""
    return (SHORT_FLAGS[flag], flag) if flag in SHORT_FLAGS else (flag,)


class _Renamed(argparse.Action):
    """An old spelling kept for one release: stores into the new option's place, hidden
    from --help, and leaves one line saying what to type instead."""

    def __init__(self, option_strings, dest, *, new: str, **kwargs) -> None:
        self.new = new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values if self.nargs != 0 else self.const)
        _renamed(namespace, f"{option_string} is now {self.new}")


def _renamed(namespace: argparse.Namespace, line: str) -> None:
    notes = getattr(namespace, "_renamed", None) or []
    namespace._renamed = [*notes, f"{line} (the old spelling works until facetwin 1.0)"]


def _add_renamed(parser: argparse.ArgumentParser, old: str, new: str, dest: str) -> None:
    """Keep ``old`` working: as a second name of the option now spelled ``new`` where there is
    one (so it also satisfies a required option), else as a hidden option of its own."""
    current = [a for a in parser._actions if a.dest == dest and a.option_strings]  # noqa: SLF001
    if current:
        parser._option_string_actions[old] = current[0]  # noqa: SLF001 (a name --help does not list)
        parser.old_flags = {**getattr(parser, "old_flags", {}), old: new}
    else:
        parser.add_argument(old, dest=dest, action=_Renamed, new=new, default=argparse.SUPPRESS)


def _old_flags_used(command: argparse.ArgumentParser, words: list[str], args: argparse.Namespace) -> None:
    """A note for each old flag name in ``words`` (they parse as the new ones)."""
    old = getattr(command, "old_flags", {})
    for word in words:
        flag = word.split("=", 1)[0]
        if flag in old:
            _renamed(args, f"{flag} is now {old[flag]}")


def _add_options(parser: argparse.ArgumentParser, table: list[Option], defaults: object) -> None:
    """Add a config's options; defaults are None so unset options keep the config's."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in table:
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        action = groups[option.group].add_argument(
            *_flags(option.flag),
            dest=option.field,
            default=None,
            help=help_text(option, defaults).replace("%", "%%"),
            **option.kwargs,
        )
        action.config_default = getattr(defaults, option.field)  # what --print-config shows when unset


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        *_flags("--device"),
        default="auto",
        metavar="DEVICE",
        help="auto (CUDA if available, else CPU), cpu, cuda, cuda:1 ... Default: auto",
    )


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary as one JSON object (for scripts) instead of the lines for people",
    )


def _print_json(command: str, summary: object, **more: object) -> None:
    """A command's summary (a dataclass) as JSON: paths as text, NaN as null."""
    import dataclasses
    import json
    import math
    from collections.abc import Mapping

    def plain(value):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [plain(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        return str(value)  # a Path

    print(json.dumps({"command": command, **plain(summary), **plain(more)}, indent=1))


def _logging_options() -> argparse.ArgumentParser:
    """-v, -q and --log-file, taken before the command and after it alike."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("messages")
    # SUPPRESS: a command's parser must not reset what was given before the command.
    group.add_argument(
        *_flags("--verbose"),
        action="count",
        default=argparse.SUPPRESS,
        help="say what each stage does: -v the facts (device, precision, faces loaded, base model, "
        "signing key), -vv everything",
    )
    group.add_argument(
        *_flags("--quiet"),
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress bar, only the summary and errors",
    )
    group.add_argument(
        "--log-file",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="also append the log to FILE, with times (INFO and above; DEBUG with -vv)",
    )
    return common


def _settings_options() -> argparse.ArgumentParser:
    """-c and --print-config: a command's settings in a TOML file (facetwin.presets)."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings files")
    group.add_argument(
        *_flags("--config"),
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="read this command's options from a TOML file (keys are the long flags without dashes, as "
        "--print-config writes them; a [command] table where one file serves several). The command line wins",
    )
    group.add_argument(
        "--print-config",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print this command's options as TOML (the defaults, a --config file's and the command "
        "line's) and exit without running",
    )
    return common


def _config_from(
    args: argparse.Namespace, cls: type, flags: dict[str, str] = FLAGS, table: list[Option] | None = None
) -> Any:
    """``cls`` with the options given (``table``'s only, when the command has other
    arguments of the same names); unset options keep the config's defaults."""
    fields = cls.__dataclass_fields__ if table is None else {row.field for row in table}
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    try:
        return cls(**given)
    except InvalidOptionError as exc:
        # Name the option as the user typed it, not the config field.
        raise InvalidOptionError(flags.get(exc.name, exc.name), exc.value, exc.expected) from None


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, keeping the line breaks a help text asks for (a list of
    architectures reads as a list)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines = []
        for part in text.splitlines():
            indent = len(part) - len(part.lstrip())
            lines += [" " * indent + line for line in super()._split_lines(part, width - indent)] or [""]
        return lines


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block first; in a log of many runs, or a terminal
        # already full of progress, the line that matters is the last one. --help has the rest.
        source = getattr(self, "settings_file", None)
        also = f"; options came from {source} too" if source else ""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help{also})\n")


def build_parser() -> argparse.ArgumentParser:
    logs, settings = _logging_options(), _settings_options()
    parser = _Parser(
        prog="facetwin",
        description="Learn a face swap between two people from ordinary footage. Every output is marked as "
        "synthetic. Inputs are positional; -o/--output is what a command writes, -m/--model the trained model "
        "it reads (docs/cli.md).",
        parents=[logs],
    )
    parser.add_argument("--version", action="version", version=f"facetwin {__version__}")
    parser.add_argument(
        "--max-pixels",
        type=_pixels,
        metavar="N",
        help="refuse images and videos whose header promises more than N pixels a frame, "
        "before decoding them (a decompression bomb guard; default 64M; 200M or 200000000)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, subparsers=commands, **kwargs) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[logs, settings], formatter_class=_Formatter, **kwargs)

    ex = command(
        "extract",
        help="find, align and save the faces in videos or photos",
        description="Find every face in a video, a folder of images or image files; align it to "
        "a mean face (Umeyama on 51 landmarks) and save a lossless crop plus alignments.json. "
        "An interrupted run continues where it stopped when run again.",
    )
    ex.add_argument("inputs", nargs="+", metavar="INPUT", help="a video, a folder of images, or image files")
    ex.add_argument(*_flags("--output"), required=True, metavar="DIR", help="folder for the crops and alignments.json")
    ex.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier extraction in DIR instead of continuing it",
    )
    _add_options(ex, EXTRACT_OPTIONS, ExtractConfig())
    _add_json(ex)

    tr = command(
        "train",
        help="train a face-swap model between person A and person B",
        description="Train one shared encoder and a decoder per person on randomly warped faces. "
        "Writes checkpoints, preview grids, history.csv and loss.png to the model folder (-o); Ctrl-C finishes "
        "the step, saves it and stops, --resume continues exactly. Several GPUs: torchrun --nproc-per-node N -m facetwin train ...",
    )
    tr.add_argument("faces_a", metavar="FACES_A", help="person A: an extraction folder or a folder of face images")
    tr.add_argument(
        "faces_b", metavar="FACES_B", help="person B: likewise (any crop size; both are cut to the model's window)"
    )
    tr.add_argument(
        *_flags("--output"),
        dest="model_dir",
        required=True,
        metavar="DIR",
        help="the model folder to write: checkpoints, previews and the training record",
    )
    _add_renamed(tr, "--model-dir", "-o/--output", "model_dir")
    tr.add_argument(*_flags("--resume"), action="store_true", help="continue the model in DIR from its last checkpoint")
    start = tr.add_mutually_exclusive_group()
    start.add_argument(
        "--init-from",
        metavar="MODEL_DIR",
        help="start from another model's weights (every part whose shape matches; the rest is "
        "reported). Default: the base model shipped with facetwin, where it fits --arch and --face",
    )
    start.add_argument(
        "--from-scratch", action="store_true", help="start from random weights instead of the shipped base model"
    )
    _add_device(tr)
    _add_options(tr, TRAIN_OPTIONS, TrainConfig())
    _add_renamed(tr, "--model", "--arch", "model")
    _add_json(tr)

    pt = command(
        "pretrain",
        help="pre-train a base model on the faces of many people",
        description="Train the shared encoder and one general decoder on many people's faces, so that "
        "a new pair starts from a model that knows faces (facetwin train --init-from DIR). Writes the same "
        "model folder as train; Ctrl-C saves and stops, --resume continues exactly.",
    )
    pt.add_argument(
        "sources", nargs="+", metavar="FACES", help="extraction folders (one person each), or folders of them"
    )
    pt.add_argument(
        *_flags("--output"),
        dest="model_dir",
        required=True,
        metavar="DIR",
        help="the model folder to write: checkpoints, previews and the training record",
    )
    _add_renamed(pt, "--model-dir", "-o/--output", "model_dir")
    pt.add_argument(*_flags("--resume"), action="store_true", help="continue the model in DIR from its last checkpoint")
    pt.add_argument(
        "--per-person", type=int, metavar="N", help="use at most N faces of each person, evenly spread (default: all)"
    )
    _add_device(pt)
    _add_options(pt, TRAIN_OPTIONS, TrainConfig())
    _add_renamed(pt, "--model", "--arch", "model")
    _add_json(pt)

    cv = command(
        "convert",
        help="swap faces in a video, an image or a folder with a trained model",
        description="Find the faces as extract does (or read them from its alignments.json), put each "
        "through the shared encoder and the other person's decoder, and blend the result back into the "
        "frame. A video keeps its frame count, timing, size and sound; frames without a face pass "
        "through untouched.",
    )
    cv.add_argument("input", metavar="INPUT", help="a video, an image, or a folder of images")
    # Before the naming convention the model was the second positional: still read, with a note.
    cv.add_argument("legacy_model", nargs="?", help=argparse.SUPPRESS)
    cv.add_argument(
        *_flags("--model"),
        dest="model_dir",
        metavar="DIR",
        help="the trained model: a folder written by facetwin train",
    )
    cv.add_argument(
        *_flags("--output"),
        required=True,
        metavar="OUT",
        help="a video file (.mp4, .mov, .mkv), a folder for images, or a .png for one image",
    )
    cv.add_argument(
        "--alignments", metavar="FILE", help="alignments.json from facetwin extract on the same input: use its faces"
    )
    _add_device(cv)
    cv.add_argument("--key-dir", metavar="DIR", help=_KEY_DIR_HELP)
    _add_options(cv, CONVERT_OPTIONS, ConvertConfig())
    _add_options(cv, FIND_OPTIONS, ExtractConfig())
    _add_json(cv)

    demo = command(
        "demo",
        help="run the pipeline on two portraits shipped with the installed packages",
        description="The whole pipeline on two portraits that ship inside installed packages "
        "(scikit-image's astronaut, matplotlib's Grace Hopper): extract faces from views of each, "
        "train a small model, swap each face into the other photo. Writes DIR/demo.png, the model "
        "with its loss plot and previews, and every intermediate step. Needs no data and no network; "
        "3-10 minutes on a 2-core CPU (the first bar's ETA is for the whole demo).",
    )
    demo.add_argument(
        *_flags("--output"), default="facetwin-demo", metavar="DIR", help="output folder. Default: ./facetwin-demo"
    )
    demo.add_argument(
        *_flags("--steps"),
        type=int,
        default=DEMO_STEPS,
        metavar="N",
        help=f"training steps (fewer is faster and blurrier). Default: {DEMO_STEPS}",
    )
    demo.add_argument("--key-dir", metavar="DIR", help=_KEY_DIR_HELP)
    _add_options(demo, EXTRACT_OPTIONS, ExtractConfig())
    _add_json(demo)

    ve = command(
        "verify",
        help="check files for facetwin's marks: watermark, metadata, C2PA manifest",
        description="Report for each file whether it carries facetwin's invisible watermark (with its "
        "strength in standard deviations and the chance of a false alarm), facetwin's metadata, and a "
        "C2PA manifest (valid or not, signed by a trusted key or not). The watermark survives "
        "re-encoding and resizing; metadata and manifests do not. A file is called SYNTHETIC only on "
        "the watermark or on a C2PA manifest valid for its very bytes; facetwin's metadata is unsigned "
        "and a manifest copied from another file fails its hash check, so either alone is reported as "
        f"an UNVERIFIED claim. Exit code: {EXIT_SYNTHETIC} at least one file is synthetic, else "
        f"{EXIT_UNVERIFIED} at least one carries only an unverified claim, else 2 a file could not be "
        "read, else 0 no file is marked.",
    )
    ve.add_argument("files", nargs="+", metavar="FILE", help="images or videos")
    ve.add_argument(
        "--frames",
        type=int,
        default=32,
        metavar="N",
        help="video frames to read the watermark from, spread over the video. Default: 32",
    )
    ve.add_argument(
        "--trust-dir",
        metavar="DIR",
        help="signing key folder whose certificate counts as trusted. Default: the local key folder",
    )
    ve.add_argument("--json", action="store_true", help="print one JSON report per file instead of the table")

    ds = command(
        "dataset",
        help="generate a FaceForensics++-style labelled face-swap dataset from video pairs",
        description="For each (target, source) pair: extract both videos, train a model (or use the one "
        "given), swap the source's face into the target. Writes original/ (real videos, and re-encoded at "
        "each level), manipulated/facetwin/<level>/ (every output marked as synthetic), masks/ (per-pixel "
        "blend masks, lossless), labels/ (one row per frame) and manifest.json (settings, seeds, model "
        "fingerprints, versions). Run the same command again to finish an interrupted run: finished pairs "
        "are skipped; a failing pair is recorded and the run goes on.",
    )
    ds.add_argument(
        "pairs",
        metavar="PAIRS",
        help="a JSON list of [target, source] (FaceForensics++ split files: video ids) or of "
        '{"target", "source", "model"}; or a CSV of target,source[,model]',
    )
    ds.add_argument(*_flags("--output"), required=True, metavar="DIR", help="the dataset folder")
    ds.add_argument("--videos", metavar="DIR", help="folder the pair list's names refer to. Default: the list's folder")
    dataset = DatasetConfig()
    ds.add_argument(
        *_flags("--steps"),
        type=int,
        default=dataset.train.steps,
        metavar="N",
        help=f"training steps per pair. Default: {dataset.train.steps}",
    )
    ds.add_argument(
        "--arch",
        dest="model",
        default=dataset.train.model,
        choices=list(architectures()),
        metavar="ARCH",
        help=f"architecture to train: {', '.join(architectures())}. Default: {dataset.train.model} (the shipped "
        "base model's; facetwin train --help describes them)",
    )
    _add_renamed(ds, "--model", "--arch", "model")
    ds.add_argument(
        *_flags("--batch-size"),
        type=int,
        default=dataset.train.batch_size,
        metavar="N",
        help=f"training batch size. Default: {dataset.train.batch_size}",
    )
    start = ds.add_mutually_exclusive_group()
    start.add_argument(
        "--init-from",
        metavar="MODEL_DIR",
        help="start every pair's model from this trained model. Default: the base model shipped "
        "with facetwin, where it fits --arch",
    )
    start.add_argument("--from-scratch", action="store_true", help="start every pair's model from random weights")
    ladder = ",".join(f"{name}={crf}" for name, crf in dataset.ladder.items())
    ds.add_argument(
        "--ladder",
        default=ladder,
        metavar="LEVELS",
        help=f"compression levels NAME=CRF, comma-separated; CRF 0 is lossless. Default: {ladder}",
    )
    ds.add_argument(
        "--variant",
        dest="variants",
        action="append",
        default=[],
        metavar="KIND:AMOUNT",
        help="also write degraded copies of fakes and originals: resize:F, blur:SIGMA, noise:STD (repeatable)",
    )
    _add_options(ds, DATASET_OPTIONS, dataset)
    ds.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run pairs on a Ray cluster (pip install 'facetwin[ray]'), one GPU each where there are "
        "GPUs; DIR must be on storage every node sees",
    )
    _add_device(ds)
    ds.add_argument("--key-dir", metavar="DIR", help=_KEY_DIR_HELP)
    ds.add_argument(
        "--check",
        action="store_true",
        help="after the run, check every finished pair: frame counts against the labels, mask IoU",
    )
    _add_json(ds)

    ev = command(
        "evaluate",
        help="measure trained models: identity among many people, pose and expression kept, detail, flicker, seams",
        description="Swap the faces of the held-out end of each person's video (the last --held-out "
        "fraction, which training should not have seen: extract with --held-out) and measure: identity "
        "of the swapped faces (dlib ResNet and SFace) as the rank of the target among a gallery of people "
        "(top-1, top-5: the papers' ID retrieval) and two-way (nearer the target than the source); head-pose "
        "error (degrees per axis and L2), expression error (landmark shape with pose and each face's own "
        "shape removed) and landmark error against the input face; how much of the input's expression "
        "movement is kept; detail of the swapped face against the real one; A->A and B->B reconstruction; "
        "flicker and landmark jitter relative to the input; the blend seam. One pair: VIDEO_A VIDEO_B -m MODEL. "
        "Many pairs: --pairs (a pair list or a facetwin dataset folder); one gallery serves every pair. "
        "Prints a table; writes report.json and contact_sheet.png per pair, and summary.json and summary.csv "
        "(mean and spread over pairs) for --pairs.",
    )
    ev.add_argument("video_a", nargs="?", metavar="VIDEO_A", help="person A's video (the model's FACES_A came from it)")
    ev.add_argument("video_b", nargs="?", metavar="VIDEO_B", help="person B's video")
    ev.add_argument(*_flags("--model"), metavar="DIR", help="the trained model: a folder written by facetwin train")
    _add_renamed(ev, "--a", "the first positional, VIDEO_A", "a_old")
    _add_renamed(ev, "--b", "the second positional, VIDEO_B", "b_old")
    ev.add_argument(
        "--pairs",
        metavar="LIST|DIR",
        help='many pairs: a CSV of target,source,model (target = A) or a JSON list of {"target", '
        '"source", "model"}, as facetwin dataset reads; or a folder written by facetwin dataset',
    )
    ev.add_argument(
        "--videos", metavar="DIR", help="folder the pair list's relative paths refer to. Default: the list's folder"
    )
    ev.add_argument(
        "--gallery",
        nargs="+",
        default=[],
        metavar="PATH",
        help="extra people for identity retrieval: a video (one person), a folder of images (one "
        "person) or a folder of those (one person each). The pairs' people are always in",
    )
    ev.add_argument(
        "--gallery-frames",
        type=int,
        default=12,
        metavar="N",
        help="pictures per extra person whose identity vectors make the person's mean (kept in "
        "OUTPUT/gallery-cache.json for the next run while the footage is unchanged). Default: 12",
    )
    ev.add_argument(
        *_flags("--output"),
        metavar="DIR",
        help="folder for the reports. Default: MODEL_DIR/evaluation, "
        "or evaluation/ beside the pair list (in the dataset folder)",
    )
    _add_options(ev, EVALUATE_OPTIONS, EvaluateConfig())
    _add_device(ev)
    ev.add_argument("--json", action="store_true", help="print the summary as JSON instead of the table")

    det = commands.add_parser(
        "detect",
        parents=[logs],
        help="train and test a baseline deepfake detector on a facetwin dataset",
        description="A small CNN trained from scratch on face crops (the face box enlarged 1.3x, as "
        "FaceForensics++) of a dataset written by facetwin dataset: fake crops and the real crops of the same "
        "frames and boxes. train uses the dataset's train pairs (no video in two splits where possible); eval "
        "reports frame- and video-level accuracy and AUC per level and variant, and a probe of whether its "
        "decisions follow the watermark instead of the manipulation.",
    )
    det_sub = det.add_subparsers(dest="detect_command", metavar="ACTION", required=True)
    dtr = command(
        "train",
        subparsers=det_sub,
        help="train a detector on a dataset's train pairs",
        description="Train the detector on the train split's crops at --train-levels (default: the lossless "
        "level), half fake and half real in every batch. Writes checkpoints, history.csv and a crop cache to "
        "DIR; Ctrl-C finishes the step, saves it and stops, --resume continues exactly. Several GPUs: "
        "torchrun --nproc-per-node N -m facetwin detect train ...",
    )
    dtr.add_argument("dataset", metavar="DATASET", help="a folder written by facetwin dataset")
    dtr.add_argument(*_flags("--output"), required=True, metavar="DIR", help="folder for the detector")
    dtr.add_argument(
        *_flags("--resume"), action="store_true", help="continue the detector in DIR from its last checkpoint"
    )
    _add_device(dtr)
    _add_options(dtr, DETECT_OPTIONS, DetectConfig())
    dev = command(
        "eval",
        subparsers=det_sub,
        help="test a trained detector on a dataset's test pairs",
        description="Score the test split's crops at every level and variant (or --levels): accuracy at 0.5 "
        "and ROC AUC per frame and per video (the mean score of its crops), pooled over levels too, and the "
        "shortcut probe: the same crops with the watermark added to real frames (or removed, where the "
        "originals carry it) and removed from fake ones; a detector that ignores the mark scores them alike. "
        "Prints a table and writes a JSON report.",
    )
    dev.add_argument("dataset", metavar="DATASET", help="a folder written by facetwin dataset")
    # Before the naming convention the detector was the first positional (DIR DATASET): still read.
    dev.add_argument("legacy_dataset", nargs="?", help=argparse.SUPPRESS)
    dev.add_argument(
        *_flags("--model"),
        dest="detector",
        metavar="DIR",
        help="the trained detector: a folder written by facetwin detect train",
    )
    dev.add_argument(*_flags("--output"), metavar="FILE", help="the JSON report. Default: DIR/report.json")
    dev.add_argument("--levels", nargs="+", metavar="LEVEL", help="levels and variants to test. Default: all")
    dev.add_argument(
        "--split", choices=["test", "val", "train", "all"], default="test", help="which pairs to test on. Default: test"
    )
    dev.add_argument(
        "--frames-per-video",
        type=int,
        metavar="N",
        help="at most N fake frames of each video, evenly spread. Default: all",
    )
    dev.add_argument("--no-probe", dest="probe", action="store_false", help="leave out the watermark probe")
    _add_device(dev)
    dev.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")

    comp = commands.add_parser(  # no settings of its own: no -c or --print-config
        "completion",
        parents=[logs],
        help="print a shell completion script (bash, zsh) for facetwin's commands and options",
        description="Print a completion script for bash or zsh, made from the same option declarations as "
        '--help. Load it for this shell with: eval "$(facetwin completion bash)" (in ~/.bashrc, or '
        "~/.zshrc with zsh); or save it once: facetwin completion bash > "
        "~/.local/share/bash-completion/completions/facetwin",
    )
    comp.add_argument("shell", choices=["bash", "zsh"], metavar="SHELL", help="bash or zsh")

    ui = command(
        "ui",
        help="a local web app for extraction, training and conversion (pip install 'facetwin[ui]')",
        description="Serve facetwin's web interface: upload the two people's videos or images and extract "
        "their faces (browse them, remove bad ones), train with a live preview and loss plot (start, pause, "
        "resume, stop), tune the blend on one frame and convert the whole video. Jobs run one at a time in "
        "the server and go on when the browser tab is closed; everything is kept in the project folder.",
    )
    ui.add_argument(
        "project",
        nargs="?",
        default="facetwin-project",
        metavar="DIR",
        help="project folder (created if missing; open it again to carry on). Default: ./facetwin-project",
    )
    ui.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on. Default: 127.0.0.1 (this machine only: no log-in, any path). Any "
        "other address (0.0.0.0: every interface) serves others: see --allow, --auth and docs/ui.md",
    )
    ui.add_argument("--port", type=int, default=7860, help="port to listen on. Default: 7860")
    ui.add_argument(
        "--max-upload",
        type=_size,
        default="2G",
        metavar="SIZE",
        help="largest upload accepted: 500M, 2G, ... (a path on this machine has no limit). Default: 2G",
    )
    _add_device(ui)
    ui.add_argument("--key-dir", metavar="DIR", help=_KEY_DIR_HELP)
    sharing = ui.add_argument_group("serving others (any --host but 127.0.0.1, ::1, localhost; or --shared)")
    sharing.add_argument(
        "--allow",
        action="append",
        metavar="DIR",
        help="a folder whose videos and images the page may be given by path (repeat for more). "
        "Default: any path when serving this machine only, the project folder only when serving "
        "others",
    )
    sharing.add_argument(
        "--shared",
        action="store_true",
        help="serve others from a loopback --host too (behind a reverse proxy or tunnel): log-in, "
        "--allow'ed paths only, no start over",
    )
    login = sharing.add_mutually_exclusive_group()
    login.add_argument(
        "--auth",
        type=_credentials,
        metavar="USER:PASSWORD",
        help="the log-in (visible to this machine's other users in the process list: prefer "
        "--auth-file). Default when serving others: user facetwin, a new random password printed at "
        "start",
    )
    login.add_argument("--auth-file", metavar="FILE", help="a file whose first line is USER:PASSWORD")
    return parser


def _credentials(text: str) -> tuple[str, str]:
    """'user:password' -> ('user', 'password'); the error never repeats the text (a password)."""
    user, colon, password = text.strip().partition(":")
    if not colon or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD, both non-empty")
    return user, password


def _pixels(text: str) -> int:
    scale = 1_000_000 if text[-1:] in ("M", "m") else 1
    try:
        value = float(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a pixel count: {text!r} (give e.g. 200M or 200000000)") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"the pixel limit must be at least 1, got {text!r}")
    return int(value)


def _size(text: str) -> int:
    """'500M', '2G', '1024' -> bytes."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use 500M, 2G or a number of bytes)")
    return int(float(match.group(1)) * 1024 ** " KMG".index(match.group(2).upper() or " "))


class _Bars:
    """The command line's one progress display, for every stage's ``Progress`` events.

    A tqdm bar (rate and ETA) per stage, replaced when the stage or its item changes or
    starts again; the event's detail after it. A dataset's "pair" stage and the demo's
    "demo" stage keep a bar of their own on the first line, with the current stage below
    it. The ETA is the stage's own ``remaining`` where it gives one (a time limit, the
    demo's several stages), else tqdm's from the rate. Drawn only here: the library only
    calls back.
    """

    _OUTER = {"pair": "pairs", "demo": "demo"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.outer = self.bar = self.key = None

    def __call__(self, event) -> None:
        if not self.enabled or event.stage == "video":
            return
        if event.stage in self._OUTER:
            if self.outer is None:
                self.outer = self._new(event, desc=self._OUTER[event.stage], position=0)
            self._show(self.outer, event)
            return
        key = (event.item, event.stage)
        if self.bar is None or key != self.key or event.done < self.bar.n:
            self.close_stage()
            desc = f"{event.item} {event.stage}" if event.item else event.stage
            nested = self.outer is not None
            self.bar = self._new(event, desc=desc, position=1 if nested else None, leave=not nested)
            self.key = key
        self._show(self.bar, event)

    @staticmethod
    def _new(event, *, desc: str, position: int | None = None, leave: bool = True):
        return _bar_class()(
            total=event.total,
            initial=max(event.done - 1, 0),
            desc=desc,
            unit=event.unit,
            dynamic_ncols=True,
            file=sys.stderr,
            mininterval=0.5,
            position=position,
            leave=leave,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{eta}, {rate_fmt}{postfix}]",
        )

    @staticmethod
    def _show(bar, event) -> None:
        bar.n = event.done
        bar.eta = event.remaining
        if event.total != bar.total:  # an estimate that moved (the steps a time limit allows)
            bar.total = event.total
        if event.detail:
            bar.set_postfix_str(event.detail, refresh=False)
        bar.update(0)

    def close_stage(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = self.key = None

    def close(self) -> None:
        self.close_stage()
        if self.outer is not None:
            self.outer.close()
            self.outer = None


@functools.cache
def _bar_class():
    """tqdm with the ETA a stage gives (``Progress.remaining``) in place of its own guess."""
    from tqdm import tqdm

    class _Bar(tqdm):
        eta: float | None = None

        @property
        def format_dict(self):
            d = super().format_dict
            left = self.eta
            if left is None:  # tqdm's own: what is left at the (smoothed) rate so far
                rate = d["rate"] or (d["n"] / d["elapsed"] if d["elapsed"] and d["n"] else None)
                left = (d["total"] - d["n"]) / rate if d["total"] and rate else None
            d["eta"] = "?" if left is None else self.format_interval(max(left, 0))
            return d

    return _Bar


def _report(summary, label: str) -> str:
    rate = summary.frames_read / summary.seconds if summary.seconds > 0 else 0.0
    parts = [
        f"{label}: {summary.frames_read} frames read, {summary.faces_saved} faces saved, "
        f"{summary.frames_without_face} frames without a face"
    ]
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
    from facetwin.extraction import extract

    config = _config_from(args, ExtractConfig)
    bar = _Bars(not args.quiet)
    try:
        summary = extract(args.inputs, args.output, config=config, overwrite=args.overwrite, progress=bar)
    finally:
        bar.close()
    if args.json:
        _print_json("extract", summary)
        return EXIT_OK
    for note in summary.notes:
        print(f"extract: {note}")
    print(_report(summary, "extract"))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from facetwin.demo import run_demo

    bar = _Bars(not args.quiet)
    try:
        result = run_demo(
            args.output, steps=args.steps, config=_config_from(args, ExtractConfig), progress=bar, key_dir=args.key_dir
        )
    finally:
        bar.close()
    if args.json:
        _print_json("demo", result)
        return EXIT_OK
    for side, summary in result.summaries.items():
        print(_report(summary, f"demo extract {side}"))
    print(f"model: {result.model_dir} (loss plot {result.loss_plot})")
    print(f"result: {result.figure}")
    return EXIT_OK


def _distributed_from_env():
    """torchrun's environment -> Distributed; starts the process group when there are several."""
    import os

    from facetwin.device import Distributed

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    import torch
    import torch.distributed as torch_dist

    torch_dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Distributed(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)


def _leave_process_group(dist) -> None:
    """End a torchrun rank's part. Leave together: a rank that tears down while rank 0
    still writes the final checkpoint can abort inside gloo."""
    if not dist.enabled:
        return
    import torch.distributed as torch_dist

    try:
        torch_dist.barrier()
    finally:
        torch_dist.destroy_process_group()


def _until_interrupted(command: str, model_dir: str, bar: _Bars, run: Callable[[], Any]) -> Any:
    """``run()``'s result, or None after Ctrl-C, having said what the folder now holds."""
    from facetwin.errors import TrainingInterrupted
    from facetwin.models.checkpoint import is_model_dir

    try:
        return run()
    except KeyboardInterrupt as exc:
        bar.close()
        if isinstance(exc, TrainingInterrupted):  # it knows which step was saved
            line = f"{exc}; continue with --resume"
        elif is_model_dir(model_dir):
            line = f"interrupted before the first step; {model_dir} keeps its last checkpoint, continue with --resume"
        else:
            line = f"interrupted before the first step; nothing was saved in {model_dir}"
        print(f"facetwin {command}: {line}", file=sys.stderr)
        return None
    finally:
        bar.close()


def _cmd_train(args: argparse.Namespace) -> int:
    from facetwin.training import train
    from facetwin.training.trainer import BASE

    config = _config_from(args, TrainConfig)
    if config.steps is None and config.time_limit is None:
        raise RequiredOptionError("--steps or --time", "how long to train (--steps 2000, --time 30m, or both)")
    dist = _distributed_from_env()
    bar = _Bars(not args.quiet and dist.rank == 0)
    init_from = None if args.from_scratch else (Path(args.init_from) if args.init_from else BASE)
    try:
        summary = _until_interrupted(
            "train",
            args.model_dir,
            bar,
            lambda: train(
                args.faces_a,
                args.faces_b,
                args.model_dir,
                config=config,
                resume=args.resume,
                init_from=init_from,
                device=args.device,
                distributed=dist,
                progress=bar,
            ),
        )
    finally:
        _leave_process_group(dist)
    if summary is None:
        return EXIT_INTERRUPTED
    if dist.rank == 0 and args.json:
        _print_json("train", summary)
    elif dist.rank == 0:
        if summary.transfer:
            print(f"start: {summary.transfer}")
        for note in summary.notes:
            print(f"train: {note}")
        print(
            f"train: steps {summary.start_step} -> {summary.step} ({summary.stopped_by}), "
            f"L1 loss A {summary.loss_a:.4f} B {summary.loss_b:.4f}, {summary.samples_per_s:.1f} faces/s, "
            f"{summary.seconds:.0f} s -> {summary.model_dir}"
        )
    return EXIT_OK


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from facetwin.training.pretraining import pretrain

    config = _config_from(args, TrainConfig)
    if config.steps is None and config.time_limit is None:
        raise RequiredOptionError("--steps or --time", "how long to pre-train (--steps 20000, --time 8h, or both)")
    if args.per_person is not None and args.per_person < 1:
        raise InvalidOptionError("--per-person", args.per_person, ">= 1")
    bar = _Bars(not args.quiet)
    summary = _until_interrupted(
        "pretrain",
        args.model_dir,
        bar,
        lambda: pretrain(
            args.sources,
            args.model_dir,
            config=config,
            resume=args.resume,
            per_person=args.per_person,
            device=args.device,
            progress=bar,
        ),
    )
    if summary is None:
        return EXIT_INTERRUPTED
    if args.json:
        _print_json("pretrain", summary)
        return EXIT_OK
    for note in summary.notes:
        print(f"pretrain: {note}")
    print(
        f"pretrain: steps {summary.start_step} -> {summary.step} ({summary.stopped_by}), "
        f"L1 loss {summary.loss_a:.4f}, {summary.samples_per_s:.1f} faces/s, {summary.seconds:.0f} s -> {summary.model_dir}"
    )
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace) -> int:
    from facetwin.conversion import convert

    if args.legacy_model is not None:
        if args.model_dir is not None:
            raise InvalidOptionError("MODEL_DIR", args.legacy_model, "given once: -m/--model DIR names the model")
        args.model_dir = args.legacy_model
        _renamed(args, "the model as a second positional is now -m/--model DIR")
    _say_renamed(args)
    if args.model_dir is None:
        raise RequiredOptionError(
            "-m/--model DIR", "the trained model to convert with (a folder written by facetwin train)"
        )
    config = _config_from(args, ConvertConfig)
    faces = _config_from(args, ExtractConfig)
    bar = _Bars(not args.quiet)
    try:
        summary = convert(
            args.input,
            args.model_dir,
            args.output,
            config=config,
            faces=faces,
            alignments=args.alignments,
            device=args.device,
            progress=bar,
            key_dir=args.key_dir,
        )
    finally:
        bar.close()
    rate = summary.frames / summary.seconds if summary.seconds > 0 else 0.0
    if args.json:
        _print_json("convert", summary, frames_per_s=rate)
        return EXIT_OK
    for note in summary.notes:
        print(f"convert: {note}")
    print(
        f"convert: {summary.frames} frames, {summary.faces_swapped} faces swapped to {summary.to.upper()} "
        f"in {summary.frames_with_faces} frames ({summary.seconds:.1f} s, {rate:.1f} frames/s) -> {summary.output}"
    )
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    import json

    from facetwin.forensics.report import format_report, verify

    if args.frames < 1:
        raise InvalidOptionError("--frames", args.frames, "1 or more")
    if args.trust_dir is not None and not Path(args.trust_dir).is_dir():
        raise InvalidOptionError("--trust-dir", args.trust_dir, "a signing key folder that exists")
    synthetic = claimed = unreadable = False
    for name in _expand_folders(args.files):
        try:
            report = verify(name, frames=args.frames, trust_dir=args.trust_dir)
        except FacetwinError as exc:
            unreadable = True
            if args.json:
                print(json.dumps({"path": name, "error": str(exc)}))
            else:
                print(f"{name}: cannot check: {exc}")
            continue
        synthetic |= report.synthetic
        claimed |= report.status == "unverified"
        print(json.dumps(report.as_dict()) if args.json else format_report(report))
    if synthetic:
        return EXIT_SYNTHETIC
    if claimed:
        return EXIT_UNVERIFIED
    return EXIT_BAD_INPUT if unreadable else EXIT_OK


def _expand_folders(names: list[str]) -> list[str]:
    """Folders become the images and videos inside them (recursively), sorted."""
    from facetwin.io.images import IMAGE_SUFFIXES
    from facetwin.io.media import VIDEO_SUFFIXES

    out = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            media = [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in (*IMAGE_SUFFIXES, *VIDEO_SUFFIXES)
            ]
            out.extend(str(p) for p in media)
        else:
            out.append(name)
    return out


def _parse_ladder(text: str) -> dict[str, int]:
    ladder = {}
    for item in text.split(","):
        name, _, crf = item.strip().partition("=")
        if not name or not crf.strip().isdigit():
            raise InvalidOptionError("--ladder", text, "NAME=CRF pairs such as c0=0,c23=23,c40=40")
        ladder[name.strip()] = int(crf)
    return ladder


def _cmd_dataset(args: argparse.Namespace) -> int:
    from facetwin.dataset import DatasetConfig, check_pair, generate_dataset, read_pairs
    from facetwin.training.trainer import BASE

    settings = _config_from(args, DatasetConfig, {row.field: row.flag for row in DATASET_OPTIONS}, DATASET_OPTIONS)
    try:  # the dataset's own training settings, with the four the command line sets
        train_config = replace(
            settings.train, model=args.model, steps=args.steps, batch_size=args.batch_size, seed=settings.seed
        )
    except InvalidOptionError as exc:
        raise InvalidOptionError(FLAGS.get(exc.name, exc.name), exc.value, exc.expected) from None
    config = replace(
        settings,
        ladder=_parse_ladder(args.ladder),
        variants=tuple(args.variants),
        train=train_config,
        init_from=None if args.from_scratch else Path(args.init_from) if args.init_from else BASE,
    )
    pairs = read_pairs(args.pairs, videos=args.videos)
    bars = _Bars(not args.quiet)
    try:
        summary = generate_dataset(
            pairs,
            args.output,
            config=config,
            key_dir=args.key_dir,
            device=args.device,
            ray_address=args.ray,
            progress=bars,
        )
    finally:
        bars.close()
    checks = {name: check_pair(summary.output, name) for name in summary.done + summary.skipped} if args.check else {}
    if args.json:
        _print_json("dataset", summary, checks=checks)
        return EXIT_BAD_INPUT if summary.failed else EXIT_OK
    print(
        f"dataset: {len(summary.done)} pairs made, {len(summary.skipped)} already done, "
        f"{len(summary.failed)} failed ({summary.seconds:.0f} s) -> {summary.output}"
    )
    for name, reason in summary.failed.items():
        print(f"  failed {name}: {reason}")
    for name, check in checks.items():
        iou = "n/a" if check["mask_iou_median"] is None else f"{check['mask_iou_median']:.3f}"
        print(
            f"  check {name}: frames {'match' if check['counts_match'] else 'DO NOT MATCH'} "
            f"({check['frames_labelled']} labelled, {check['fake_frames']} fake), mask IoU median {iou}"
        )
    return EXIT_BAD_INPUT if summary.failed else EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from facetwin.evaluation.gallery import build_gallery, gallery_sources
    from facetwin.evaluation.report import format_table, summary, write_report
    from facetwin.evaluation.runner import EvaluateConfig, evaluate, load_tools

    if args.gallery_frames < 1:
        raise InvalidOptionError("--gallery-frames", args.gallery_frames, "1 or more")
    for old, name in (("a_old", "video_a"), ("b_old", "video_b")):
        if getattr(args, old, None) is not None:
            if getattr(args, name) is not None:
                raise InvalidOptionError(f"--{old[0]}", getattr(args, old), "given once: the videos are positional")
            setattr(args, name, getattr(args, old))
    _say_renamed(args)
    words = {"model": "-m/--model", "video_a": "VIDEO_A", "video_b": "VIDEO_B"}
    one = [name for name in words if getattr(args, name) is not None]
    if args.pairs is not None:
        if one:
            raise InvalidOptionError(
                "--pairs", args.pairs, f"given alone, without {words[one[0]]} (one pair or a pair list)"
            )
        return _evaluate_pairs(args)
    if len(one) < 3:
        missing = [words[name] for name in words if getattr(args, name) is None]
        raise MissingOptionError(missing, tuple(words.values()), "or give --pairs")
    config = _config_from(args, EvaluateConfig, {row.field: row.flag for row in EVALUATE_OPTIONS})
    sources = gallery_sources(args.gallery)
    output = Path(args.output) if args.output else Path(args.model) / "evaluation"
    bar = _Bars(not args.quiet)
    try:
        tools = load_tools()
        gallery = (
            build_gallery(sources, tools, frames=args.gallery_frames, cache=output / "gallery-cache.json", progress=bar)
            if sources
            else None
        )
        result = evaluate(
            args.model,
            args.video_a,
            args.video_b,
            config=config,
            gallery=gallery,
            device=args.device,
            progress=bar,
            tools=tools,
        )
    finally:
        bar.close()
    paths = write_report(result, output)
    print(json.dumps(summary(result), indent=1) if args.json else format_table(result))
    # With --json, stdout holds the JSON alone (a pipe parses it); where it went, on stderr.
    print(
        f"evaluate: {result.seconds:.0f} s -> {paths['report']}, {paths['sheet']}",
        file=sys.stderr if args.json else sys.stdout,
    )
    return EXIT_OK


def _evaluate_pairs(args: argparse.Namespace) -> int:
    import json

    from facetwin.config import EvaluateConfig
    from facetwin.evaluation.gallery import gallery_sources
    from facetwin.evaluation.pairs import (
        evaluate_pairs,
        format_pairs_table,
        load_pairs,
        pairs_summary,
        write_pairs_report,
    )

    config = _config_from(args, EvaluateConfig, {row.field: row.flag for row in EVALUATE_OPTIONS})
    pairs = load_pairs(args.pairs, videos=args.videos)
    sources = gallery_sources(args.gallery)
    where = Path(args.pairs)
    output = Path(args.output) if args.output else (where if where.is_dir() else where.parent) / "evaluation"
    if where.is_dir() and not args.quiet:
        print(
            "evaluate: a dataset's models trained on every frame of their videos, so the test part is not "
            "unseen: the figures describe the dataset's fakes",
            file=sys.stderr,
        )
    bar = _Bars(not args.quiet)
    try:
        result = evaluate_pairs(
            pairs,
            config=config,
            gallery=sources,
            gallery_frames=args.gallery_frames,
            gallery_cache=output / "gallery-cache.json",
            device=args.device,
            progress=bar,
        )
    finally:
        bar.close()
    if not result.pairs:
        raise NoFaceFoundError(
            str(args.pairs),
            0,
            "no pair could be evaluated: " + "; ".join(f"{name}: {reason}" for name, reason in result.failed.items()),
        )
    paths = write_pairs_report(result, output)
    data = pairs_summary(result)
    print(json.dumps(data["overall"], indent=1) if args.json else format_pairs_table(result, data))
    print(
        f"evaluate: {len(result.pairs)} pairs, {len(result.failed)} failed ({result.seconds:.0f} s) -> "
        f"{paths['summary']}, {paths['csv']}",
        file=sys.stderr if args.json else sys.stdout,
    )
    return EXIT_BAD_INPUT if result.failed else EXIT_OK


def _cmd_detect(args: argparse.Namespace) -> int:
    if args.detect_command == "train":
        return _detect_train(args)
    import json

    from facetwin.detection import evaluate_detector, format_detect_report, write_detect_report

    if args.legacy_dataset is not None:  # the old order: DIR DATASET
        if args.detector is not None:
            raise InvalidOptionError("DATASET", args.legacy_dataset, "given once: -m/--model DIR names the detector")
        args.detector, args.dataset = args.dataset, args.legacy_dataset
        _renamed(args, "the detector as the first positional is now -m/--model DIR")
    _say_renamed(args)
    if args.detector is None:
        raise RequiredOptionError("-m/--model DIR", "the detector to test (a folder written by facetwin detect train)")
    if args.frames_per_video is not None and args.frames_per_video < 1:
        raise InvalidOptionError("--frames-per-video", args.frames_per_video, "1 or more")
    bar = _Bars(not args.quiet)
    try:
        report = evaluate_detector(
            args.detector,
            args.dataset,
            levels=args.levels,
            split=args.split,
            probe=args.probe,
            frames_per_video=args.frames_per_video,
            device=args.device,
            progress=bar,
        )
    finally:
        bar.close()
    path = write_detect_report(report, args.output or Path(args.detector) / "report.json")
    print(json.dumps(report, indent=1) if args.json else format_detect_report(report))
    print(f"detect eval: {report['seconds']:.0f} s -> {path}")
    return EXIT_OK


def _detect_train(args: argparse.Namespace) -> int:
    from facetwin.detection import train_detector

    config = _config_from(args, DetectConfig, DETECT_FLAGS)
    if args.time_limit is not None and args.steps is None:
        from dataclasses import replace

        config = replace(config, steps=None)  # --time alone: no step limit (the config's default is one)
    dist = _distributed_from_env()
    bar = _Bars(not args.quiet and dist.rank == 0)
    try:
        summary = _until_interrupted(
            "detect train",
            args.output,
            bar,
            lambda: train_detector(
                args.dataset,
                args.output,
                config=config,
                resume=args.resume,
                device=args.device,
                distributed=dist,
                progress=bar,
            ),
        )
    finally:
        _leave_process_group(dist)
    if summary is None:
        return EXIT_INTERRUPTED
    if dist.rank == 0:
        for note in summary.notes:
            print(f"detect train: {note}")
        if summary.split.get("note"):
            print(f"detect train: {summary.split['note']}")
        val = summary.validation
        checked = "" if not val else f", validation AUC {val['auc']:.3f} accuracy {val['accuracy']:.3f}"
        print(
            f"detect train: steps {summary.start_step} -> {summary.step} ({summary.stopped_by}) on "
            f"{'+'.join(summary.levels)}, {len(summary.split['train'])} pairs ({summary.crops['train']} fake and as "
            f"many real crops), loss {summary.loss:.4f}, batch accuracy {summary.accuracy:.3f}{checked}, "
            f"{summary.crops_per_s:.0f} crops/s, {summary.seconds:.0f} s -> {summary.output}"
        )
    return EXIT_OK


def _first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, cut to ``limit`` characters.

    Some libraries' messages run to dozens of lines (a pybind11 TypeError lists every
    overload); the terminal gets one line and the crash log the whole message.

    >>> _first_line(TypeError("f(): incompatible arguments.\\n    1. (img: ...)"))
    'f(): incompatible arguments. [...]'
    """
    lines = str(exc).strip().splitlines()
    line = lines[0].rstrip() if lines else ""
    if len(line) > limit:
        return line[: limit - 3].rstrip() + "..."
    return line + (" [...]" if len(lines) > 1 else "")


def _crash_log(exc: BaseException) -> Path:
    # mkstemp creates a new file with O_EXCL under a random name, readable by its owner
    # only: a name known in advance in a shared /tmp would let another user plant a
    # symlink there and have a crash overwrite a file of theirs choosing.
    fd, name = tempfile.mkstemp(prefix=f"facetwin-crash-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
        f.write(f"facetwin {__version__}\nargv: {sys.argv}\n\n{text}")
    return Path(name)


def _terminate_as_interrupt() -> None:
    """Treat SIGTERM (a job scheduler, `kill`) like Ctrl-C, so work in progress is saved."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _cmd_completion(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from facetwin.completion import completion_script

    print(completion_script(parser, args.shell), end="")
    return EXIT_OK


def _cmd_ui(args: argparse.Namespace) -> int:
    try:
        from facetwin.ui.app import launch
    except ImportError as exc:
        raise MissingExtraError("facetwin ui", "ui", str(exc)) from None
    auth = args.auth
    if args.auth_file is not None:
        try:
            auth = _credentials((Path(args.auth_file).read_text(encoding="utf-8").splitlines() or [""])[0])
        except (OSError, UnicodeDecodeError, argparse.ArgumentTypeError):
            raise InvalidOptionError(
                "--auth-file", args.auth_file, "a readable file whose first line is USER:PASSWORD"
            ) from None
    app = launch(
        args.project,
        host=args.host,
        port=args.port,
        device=args.device,
        max_upload=args.max_upload,
        key_dir=args.key_dir,
        allow=args.allow,
        auth=auth,
        shared=args.shared or None,
        block=False,
    )
    print(
        f"facetwin ui: serving {app.facetwin_server.project.root} on http://{args.host}:{args.port} (Ctrl-C "
        "stops; running jobs save what they did)",
        flush=True,
    )
    if auth is None and app.facetwin_auth is not None:  # made up by launch: shown once, here
        user, password = app.facetwin_auth
        print(
            f"facetwin ui: log in as {user} with password {password} (new at each start; --auth-file sets your own)",
            flush=True,
        )
    try:
        while True:
            time.sleep(3600)
    finally:
        app.facetwin_server.queue.close()
        app.close()


# What an interrupted command leaves, in its own words: only extract and dataset pick up
# where they stopped; convert writes a video beside its target and removes that on the way out.
_AFTER_INTERRUPT = {
    "extract": "; what was done is saved, run the same command again to continue",
    "dataset": "; finished pairs are saved, run the same command again to continue",
    "convert": "; a conversion does not resume: run it again to start over (a video output was left as it was)",
}


def _in_flags(exc: FacetwinError, command: argparse.ArgumentParser) -> str:
    """The error in the command line's words: a config's field ("held_out") as its flag ("--held-out")."""
    text = str(exc)
    if not isinstance(exc, InvalidOptionError) or not isinstance(exc.name, str) or exc.name.startswith("-"):
        return text
    for action in command._actions:  # noqa: SLF001 (argparse has no public listing)
        if action.dest == exc.name and action.option_strings and text.startswith(exc.name):
            return max(action.option_strings, key=len) + text[len(exc.name) :]
    return text


def _command_path(args: argparse.Namespace) -> list[str]:
    """["train"], or ["detect", "eval"]."""
    return [args.command] + ([args.detect_command] if getattr(args, "detect_command", None) else [])


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's commands by name ({} for a command of its own)."""
    for action in parser._actions:  # noqa: SLF001 (argparse has no public listing)
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command_parser(parser: argparse.ArgumentParser, path: list[str]) -> argparse.ArgumentParser:
    """The parser of the command ``path`` names (["detect", "eval"]: ``detect eval``'s)."""
    for name in path:
        parser = _subcommands(parser)[name]
    return parser


def _settings_file(parser: argparse.ArgumentParser, words: list[str]) -> bool:
    """Put a -c/--config file's options into ``words`` (in place), right after the command's
    name, so that what is typed after them wins; returns whether --print-config was asked.

    Options the file gives, and for --print-config the inputs too, stop being required."""
    from facetwin.presets import read_settings, settings_words

    path, end = _find_command(parser, words)
    if not path:
        return False
    command = _command_parser(parser, path)
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument(*_flags("--config"))
    early.add_argument("--print-config", action="store_true")
    found, _ = early.parse_known_args(words[end:])
    if found.config is not None:
        values = read_settings(found.config, " ".join(path))
        words[end:end] = settings_words(values, command, found.config)
        command.settings_file = found.config
        _not_required(command, values)
    if found.print_config:
        _not_required(command, None)
    return found.print_config


def _find_command(parser: argparse.ArgumentParser, words: list[str]) -> tuple[list[str], int]:
    """The command's names in ``words`` (["detect", "eval"]) and the index after them."""
    takes_value = {"--max-pixels", "--log-file"}
    choices = _subcommands(parser)
    path, i = [], 0
    while i < len(words):
        word = words[i]
        if word in takes_value:
            i += 2
            continue
        if not word.startswith("-"):
            if word not in choices:
                break
            path.append(word)
            choices = _subcommands(choices[word])
            if not choices:
                return path, i + 1
        i += 1
    return [], 0


def _not_required(parser: argparse.ArgumentParser, given: dict | None) -> None:
    """Options a settings file gave (all, for None) no longer required on the command line;
    for None, the inputs too (--print-config needs none)."""
    from facetwin.presets import option_key

    for action in parser._actions:  # noqa: SLF001
        if not action.option_strings:
            if given is None and action.nargs in (None, "+"):
                action.nargs = "?" if action.nargs is None else "*"
                action.required = False
        elif given is None or option_key(action) in given:
            action.required = False


def _say_renamed(args: argparse.Namespace) -> None:
    """One line for each old spelling used (then forgotten, so each is said once)."""
    for line in getattr(args, "_renamed", None) or []:
        print(f"facetwin {' '.join(_command_path(args))}: note: {line}", file=sys.stderr)
    args._renamed = []


class _Console(logging.Handler):
    """facetwin's log lines on stderr, through tqdm so that they never cut a progress bar."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.stream = sys.stderr  # the stderr of this run (a test's capture, say)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never end a run
            self.handleError(record)


def _set_up_logging(verbose: int, log_file: str | None) -> None:
    """facetwin's messages on stderr at the level -v asks (WARNING, INFO, DEBUG), and with
    --log-file a copy with times (INFO at least). Other libraries' warnings reach stderr
    through Python's last-resort handler, as before."""
    console_level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    ours = logging.getLogger("facetwin")
    for handler in [h for h in ours.handlers if getattr(h, "facetwin_cli", False)]:
        ours.removeHandler(handler)  # from an earlier main() in this process
        handler.close()
    handlers: list[logging.Handler] = [_Console(console_level)]
    if log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setLevel(min(console_level, logging.INFO))
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(handler)
    for handler in handlers:
        handler.facetwin_cli = True
        ours.addHandler(handler)
    ours.setLevel(min(h.level for h in handlers))


#: Commands that run models but do not train them (training's large products keep the default).
_INFERENCE = {"convert", "evaluate", "verify", "extract"}
_TRAINING = {"train", "pretrain", "dataset", "demo"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 internal error, 2 bad input)."""
    # A file name that is not UTF-8 must print, not end the run: stderr already escapes
    # such characters, stdout (strict under most UTF-8 locales) is made to do the same.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # replaced by a plain writer, or closed
            pass
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        print_config = _settings_file(parser, words)
    except FacetwinError as exc:
        print(f"facetwin: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    args = parser.parse_args(words)
    _old_flags_used(_command_parser(parser, _command_path(args)), words, args)
    if print_config:
        from facetwin.presets import format_settings

        print(format_settings(_command_parser(parser, _command_path(args)), args), end="")
        return EXIT_OK
    args.verbose, args.quiet = getattr(args, "verbose", 0) or 0, getattr(args, "quiet", False)
    try:
        _set_up_logging(args.verbose, getattr(args, "log_file", None))
    except OSError as exc:
        print(f"facetwin {args.command}: error: --log-file {args.log_file}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _say_renamed(args)
    commands = {
        "extract": _cmd_extract,
        "train": _cmd_train,
        "pretrain": _cmd_pretrain,
        "convert": _cmd_convert,
        "demo": _cmd_demo,
        "verify": _cmd_verify,
        "dataset": _cmd_dataset,
        "evaluate": _cmd_evaluate,
        "detect": _cmd_detect,
        "ui": _cmd_ui,
        "completion": lambda args: _cmd_completion(parser, args),
    }
    _terminate_as_interrupt()
    if args.command in _INFERENCE:
        # Before torch loads libgomp: its threads otherwise spin after each small call, on
        # the cores decoding and encoding need (issue 19: convert at 720p used 20-40 % less
        # CPU a frame, multi-face 2x the frames/s; docs/BENCHMARKS.md). A user's setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.command in _TRAINING:
        # Before torch's first allocation, which reads it once: buffers of 2 MB and more
        # get transparent huge pages, so the weight casts, gradients and activations a
        # step allocates afresh stop paying a page fault every 4 KB (issue 19: original at
        # batch 64, 1.87 -> 1.67 s a step on a 2-core AMX Xeon; docs/BENCHMARKS.md).
        os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    if args.max_pixels is not None:
        set_max_pixels(args.max_pixels)
    try:
        return commands[args.command](args)
    except FacetwinError as exc:
        line = _in_flags(exc, _command_parser(parser, _command_path(args)))
        print(f"facetwin {args.command}: error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"facetwin {args.command}: interrupted{_AFTER_INTERRUPT.get(args.command, '')}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: keep the traceback, show one line
        log = _crash_log(exc)
        print(
            f"facetwin {args.command}: internal error: {type(exc).__name__}: {_first_line(exc)} (traceback in {log})",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
