"""Hostile input (issue 15): every command, given a bad file, folder or option, exits 2
with one line and no traceback, writes nothing, and leaves earlier outputs as they were.

The catalogue is made once per session from package data (scikit-image's astronaut,
matplotlib's Grace Hopper, videos written with PyAV): damaged images and videos,
links, a named pipe, a decompression bomb, damaged model folders, face folders and
pair lists, and option values out of range. Each case runs ``facetwin.cli.main`` in
this process with its own empty working folder; cases marked with an earlier output
first copy a good result (an extraction, a converted image or video, a trained model)
to where the failing command writes, and check it byte for byte afterwards.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from _helpers import png_bomb, shifted, write_video

from facetwin import cli
from facetwin.io.images import DEFAULT_MAX_PIXELS, set_max_pixels

# Every train run a case might start by mistake is tiny and short, so a case the library
# wrongly accepts fails in seconds instead of training the default model for an hour.
TINY = ("--arch", "tiny64", "--steps", "1", "--batch-size", "2", "--device", "cpu")
TRAIN = ("train", "{faces_a}", "{faces_b}", "-o", "{out}", "--from-scratch", *TINY)
PRETRAIN = ("pretrain", "{faces_a}", "{faces_b}", "-o", "{out}", *TINY)
CONVERT = ("--device", "cpu")
DATASET = ("-o", "{out}", "--steps", "1", "--arch", "tiny64", "--device", "cpu")
EVALUATE = ("--device", "cpu", "--max-frames", "2")
# A ui case that starts serving has failed; it is stopped after this many seconds.
UI_SECONDS = 15
CASE_SECONDS = 90


@dataclass(frozen=True)
class Case:
    """One refused command line.

    ``argv`` holds ``{name}`` fields: catalogue paths, ``{out}`` (a path in the case's
    empty folder that does not exist) and ``{earlier}`` (a copy of the good output
    named by ``earlier``, placed in the case's folder before the run). ``report``: the
    command reports per file on stdout (verify), so its one line may be there.
    """

    id: str
    argv: tuple[str, ...]
    earlier: str | None = None
    report: bool = False
    setup: Callable[[Path], None] | None = None


def _sub_folder(root: Path) -> None:
    (root / "sub").mkdir()


CASES = [
    # --- images, as extract's input --------------------------------------------------
    Case("extract-empty-png", ("extract", "{png_empty}", "-o", "{out}")),
    Case("extract-text-png", ("extract", "{png_text}", "-o", "{out}")),
    Case("extract-truncated-png", ("extract", "{png_truncated}", "-o", "{out}")),
    Case("extract-truncated-jpg", ("extract", "{jpg_truncated}", "-o", "{out}")),
    Case("extract-random-jpg", ("extract", "{jpg_random}", "-o", "{out}")),
    Case("extract-png-bad-crc", ("extract", "{png_bad_crc}", "-o", "{out}")),
    Case("extract-folder-named-png", ("extract", "{folder_png}", "-o", "{out}")),
    Case("extract-broken-symlink", ("extract", "{link_broken}", "-o", "{out}")),
    Case("extract-symlink-loop", ("extract", "{link_loop}", "-o", "{out}")),
    Case("extract-missing", ("extract", "{missing_png}", "-o", "{out}")),
    Case("extract-png-bomb", ("extract", "{png_bomb}", "-o", "{out}")),
    Case("extract-max-pixels-1000", ("--max-pixels", "1000", "extract", "{portrait}", "-o", "{out}")),
    Case("extract-non-utf8-name", ("extract", "{non_utf8}", "-o", "{out}")),
    Case("extract-fifo-png", ("extract", "{fifo_png}", "-o", "{out}")),
    Case("extract-fifo-mp4", ("extract", "{fifo_mp4}", "-o", "{out}")),
    # --- videos ------------------------------------------------------------------------
    Case("extract-empty-mp4", ("extract", "{mp4_empty}", "-o", "{out}")),
    Case("extract-text-mp4", ("extract", "{mp4_text}", "-o", "{out}")),
    Case("extract-truncated-mp4", ("extract", "{mp4_truncated}", "-o", "{out}")),
    Case("extract-audio-only-mp4", ("extract", "{mp4_audio_only}", "-o", "{out}")),
    Case("extract-random-mp4", ("extract", "{mp4_random}", "-o", "{out}")),
    # --- extract's options and outputs -------------------------------------------------
    Case("extract-crop-size-abc", ("extract", "{portrait}", "-o", "{out}", "--crop-size", "abc")),
    Case("extract-coverage-5", ("extract", "{portrait}", "-o", "{out}", "--coverage", "5")),
    Case("extract-every-0", ("extract", "{video_a}", "-o", "{out}", "--every", "0")),
    Case("extract-detector-nope", ("extract", "{portrait}", "-o", "{out}", "--detector", "nope")),
    Case("extract-ref-face-text", ("extract", "{portrait}", "-o", "{out}", "--ref-face", "{png_text}")),
    Case("extract-max-pixels-x", ("--max-pixels", "x", "extract", "{portrait}", "-o", "{out}")),
    Case("extract-max-pixels-0", ("--max-pixels", "0", "extract", "{portrait}", "-o", "{out}")),
    Case("extract-into-itself", ("extract", "{earlier}", "-o", "{earlier}"), earlier="extraction"),
    Case("extract-output-is-a-file", ("extract", "{portrait}", "-o", "{earlier}"), earlier="converted_png"),
    Case("extract-truncated-into-earlier", ("extract", "{jpg_truncated}", "-o", "{earlier}"), earlier="extraction"),
    Case("extract-bomb-into-earlier", ("extract", "{png_bomb}", "-o", "{earlier}"), earlier="extraction"),
    Case(
        "extract-other-settings-into-earlier",
        ("extract", "{video_a}", "-o", "{earlier}", "--crop-size", "96"),
        earlier="extraction",
    ),
    # --- convert: input ----------------------------------------------------------------
    Case("convert-missing-input", ("convert", "{missing_png}", "-m", "{model}", "-o", "{out}.png", *CONVERT)),
    Case("convert-text-png", ("convert", "{png_text}", "-m", "{model}", "-o", "{out}.png", *CONVERT)),
    Case("convert-truncated-jpg", ("convert", "{jpg_truncated}", "-m", "{model}", "-o", "{out}.png", *CONVERT)),
    Case("convert-png-bomb", ("convert", "{png_bomb}", "-m", "{model}", "-o", "{out}.png", *CONVERT)),
    Case("convert-fifo-png", ("convert", "{fifo_png}", "-m", "{model}", "-o", "{out}.png", *CONVERT)),
    Case("convert-fifo-mp4", ("convert", "{fifo_mp4}", "-m", "{model}", "-o", "{out}.mp4", *CONVERT)),
    Case("convert-non-utf8-name", ("convert", "{non_utf8}", "-m", "{model}", "-o", "{out}.png", *CONVERT)),
    Case("convert-empty-mp4", ("convert", "{mp4_empty}", "-m", "{model}", "-o", "{out}.mp4", *CONVERT)),
    Case("convert-audio-only-mp4", ("convert", "{mp4_audio_only}", "-m", "{model}", "-o", "{out}.mp4", *CONVERT)),
    Case(
        "convert-truncated-mp4-into-earlier",
        ("convert", "{mp4_truncated}", "-m", "{model}", "-o", "{earlier}", *CONVERT),
        earlier="converted_mp4",
    ),
    Case(
        "convert-alignments-text",
        ("convert", "{portrait}", "-m", "{model}", "-o", "{out}.png", "--alignments", "{png_text}", *CONVERT),
    ),
    # --- convert: model folders --------------------------------------------------------
    *[
        Case(
            f"convert-model-{name.replace('_', '-')}",
            ("convert", "{portrait}", "-m", "{model_" + name + "}", "-o", "{out}.png", *CONVERT),
        )
        for name in (
            "missing",
            "empty",
            "file",
            "config_text",
            "config_format",
            "config_list",
            "weights_truncated",
            "weights_flipped",
            "weights_nan",
            "no_state",
            "no_weights",
        )
    ],
    Case(
        "convert-model-nan-into-earlier",
        ("convert", "{portrait}", "-m", "{model_weights_nan}", "-o", "{earlier}", *CONVERT),
        earlier="converted_png",
    ),
    # --- convert: options and outputs --------------------------------------------------
    Case("convert-to-c", ("convert", "{portrait}", "-m", "{model}", "-o", "{out}.png", "--to", "c", *CONVERT)),
    Case("convert-output-xyz", ("convert", "{portrait}", "-m", "{model}", "-o", "{out}.xyz", *CONVERT)),
    Case("convert-crf-99", ("convert", "{video_a}", "-m", "{model}", "-o", "{out}.mp4", "--crf", "99", *CONVERT)),
    Case("convert-device-cuda", ("convert", "{portrait}", "-m", "{model}", "-o", "{out}.png", "--device", "cuda")),
    Case(
        "convert-device-cuda-abc", ("convert", "{portrait}", "-m", "{model}", "-o", "{out}.png", "--device", "cuda:abc")
    ),
    Case(
        "convert-output-is-input",
        ("convert", "{earlier}", "-m", "{model}", "-o", "{earlier}", *CONVERT),
        earlier="converted_png",
    ),
    Case(
        "convert-output-is-input-spelled-otherwise",
        ("convert", "{earlier}", "-m", "{model}", "-o", "./sub/../earlier.png", *CONVERT),
        earlier="converted_png",
        setup=_sub_folder,
    ),
    Case(
        "convert-video-output-is-input",
        ("convert", "{earlier}", "-m", "{model}", "-o", "{earlier}", *CONVERT),
        earlier="converted_mp4",
    ),
    Case(
        "convert-folder-output-is-input",
        ("convert", "{earlier}", "-m", "{model}", "-o", "{earlier}", *CONVERT),
        earlier="extraction",
    ),
    # --- train: options ----------------------------------------------------------------
    Case("train-steps-minus-1", (*TRAIN, "--steps", "-1")),
    Case("train-steps-x", (*TRAIN, "--steps", "x")),
    Case("train-batch-size-0", (*TRAIN, "--batch-size", "0")),
    Case("train-device-cuda-abc", (*TRAIN, "--device", "cuda:abc")),
    Case("train-device-cuda", (*TRAIN, "--device", "cuda")),
    Case("train-model-nope", (*TRAIN, "--arch", "nope")),
    Case("train-face-head", (*TRAIN, "--face", "head")),
    Case("train-lr-x", (*TRAIN, "--lr", "x")),
    Case("train-lr-nan", (*TRAIN, "--lr", "nan")),
    Case("train-time-abc", (*TRAIN, "--time", "abc")),
    # --- train: face folders -----------------------------------------------------------
    *[
        Case(
            f"train-faces-{name.replace('_', '-')}",
            ("train", "{faces_" + name + "}", "{faces_b}", "-o", "{out}", "--from-scratch", *TINY),
        )
        for name in ("empty", "broken", "alignments_text", "alignments_list", "file", "missing", "too_few")
    ],
    # --- train: model folders to start from, or to resume ------------------------------
    *[
        Case(
            f"train-init-from-{name.replace('_', '-')}",
            ("train", "{faces_a}", "{faces_b}", "-o", "{out}", "--init-from", "{model_" + name + "}", *TINY),
        )
        for name in ("missing", "config_text", "weights_nan", "weights_truncated")
    ],
    *[
        Case(
            f"train-resume-{name.replace('_', '-')}",
            ("train", "{faces_a}", "{faces_b}", "-o", "{earlier}", "--resume", *TINY),
            earlier=f"model_{name}",
        )
        for name in ("config_text", "weights_truncated", "weights_nan", "no_state")
    ],
    Case(
        "train-bad-faces-into-earlier",
        ("train", "{faces_broken}", "{faces_b}", "-o", "{earlier}", "--resume", *TINY),
        earlier="model",
    ),
    Case(
        "train-existing-without-resume",
        ("train", "{faces_a}", "{faces_b}", "-o", "{earlier}", "--from-scratch", *TINY),
        earlier="model",
    ),
    Case(
        "train-resume-other-architecture",
        ("train", "{faces_a}", "{faces_b}", "-o", "{earlier}", "--resume", *TINY, "--arch", "fast64"),
        earlier="model",
    ),
    Case(
        "train-into-faces-folder",
        ("train", "{earlier}", "{faces_b}", "-o", "{earlier}", "--from-scratch", *TINY),
        earlier="extraction",
    ),
    # --- pretrain ----------------------------------------------------------------------
    *[
        Case(f"pretrain-faces-{name.replace('_', '-')}", ("pretrain", "{faces_" + name + "}", *PRETRAIN[2:]))
        for name in ("empty", "file", "alignments_text", "missing")
    ],
    Case("pretrain-per-person-0", (*PRETRAIN, "--per-person", "0")),
    Case("pretrain-steps-0", (*PRETRAIN, "--steps", "0")),
    Case("pretrain-device-cuda", (*PRETRAIN, "--device", "cuda")),
    Case(
        "pretrain-bad-faces-into-earlier",
        ("pretrain", "{faces_alignments_text}", "{faces_b}", "-o", "{earlier}", "--resume", *TINY),
        earlier="model",
    ),
    # --- demo --------------------------------------------------------------------------
    Case("demo-steps-minus-1", ("demo", "-o", "{out}", "--steps", "-1")),
    Case("demo-steps-x", ("demo", "-o", "{out}", "--steps", "x")),
    Case("demo-crop-size-abc", ("demo", "-o", "{out}", "--crop-size", "abc")),
    Case("demo-output-is-a-file", ("demo", "-o", "{earlier}", "--steps", "1"), earlier="converted_png"),
    Case("demo-ref-face-text", ("demo", "-o", "{out}", "--steps", "1", "--ref-face", "{png_text}")),
    # --- verify: one report line per file, on stdout -----------------------------------
    Case("verify-missing", ("verify", "{missing_png}"), report=True),
    Case("verify-empty-png", ("verify", "{png_empty}"), report=True),
    Case("verify-truncated-mp4", ("verify", "{mp4_truncated}"), report=True),
    Case("verify-png-bomb", ("verify", "{png_bomb}"), report=True),
    Case("verify-fifo-png", ("verify", "{fifo_png}"), report=True),
    Case("verify-fifo-mp4", ("verify", "{fifo_mp4}"), report=True),
    Case("verify-non-utf8-name", ("verify", "{non_utf8}"), report=True),
    Case("verify-frames-0", ("verify", "{portrait}", "--frames", "0")),
    Case("verify-trust-dir-missing", ("verify", "{portrait}", "--trust-dir", "{model_missing}")),
    # --- dataset -----------------------------------------------------------------------
    Case("dataset-pairs-empty", ("dataset", "{pairs_empty}", *DATASET)),
    Case("dataset-pairs-not-json", ("dataset", "{pairs_text}", *DATASET)),
    Case("dataset-pairs-not-utf8", ("dataset", "{pairs_latin1}", *DATASET)),
    Case("dataset-pairs-missing-videos", ("dataset", "{pairs_missing}", *DATASET)),
    Case("dataset-pairs-wrong-shape", ("dataset", "{pairs_shape}", *DATASET)),
    Case("dataset-pairs-missing-file", ("dataset", "{missing_png}", *DATASET)),
    Case("dataset-ladder-bad", ("dataset", "{pairs_good}", *DATASET, "--ladder", "c23")),
    Case("dataset-jobs-0", ("dataset", "{pairs_good}", *DATASET, "--jobs", "0")),
    Case("dataset-model-nope", ("dataset", "{pairs_good}", *DATASET, "--arch", "nope")),
    Case("dataset-init-from-nan", ("dataset", "{pairs_good}", *DATASET, "--init-from", "{model_weights_nan}")),
    # --- evaluate ----------------------------------------------------------------------
    Case("evaluate-pairs-empty", ("evaluate", "--pairs", "{pairs_empty}", "-o", "{out}", *EVALUATE)),
    Case("evaluate-pairs-not-json", ("evaluate", "--pairs", "{pairs_text}", "-o", "{out}", *EVALUATE)),
    Case("evaluate-pairs-not-utf8", ("evaluate", "--pairs", "{pairs_latin1}", "-o", "{out}", *EVALUATE)),
    Case("evaluate-pairs-missing-videos", ("evaluate", "--pairs", "{pairs_missing}", "-o", "{out}", *EVALUATE)),
    Case(
        "evaluate-model-missing",
        ("evaluate", "--model", "{model_missing}", "{video_a}", "{video_b}", "-o", "{out}", *EVALUATE),
    ),
    Case(
        "evaluate-model-nan",
        (
            "evaluate",
            "--model",
            "{model_weights_nan}",
            "{video_a}",
            "{video_b}",
            "-o",
            "{out}",
            *EVALUATE,
        ),
    ),
    Case(
        "evaluate-video-text",
        ("evaluate", "--model", "{model}", "{mp4_text}", "{video_b}", "-o", "{out}", *EVALUATE),
    ),
    Case(
        "evaluate-held-out-2",
        (
            "evaluate",
            "--model",
            "{model}",
            "{video_a}",
            "{video_b}",
            "-o",
            "{out}",
            *EVALUATE,
            "--held-out",
            "2",
        ),
    ),
    Case("evaluate-model-alone", ("evaluate", "--model", "{model}", "-o", "{out}", *EVALUATE)),
    Case(
        "evaluate-device-cuda",
        ("evaluate", "--model", "{model}", "{video_a}", "{video_b}", "-o", "{out}", "--device", "cuda"),
    ),
    Case(
        "evaluate-truncated-into-earlier-model",
        ("evaluate", "--model", "{earlier}", "{mp4_truncated}", "{video_b}", *EVALUATE),
        earlier="model",
    ),
    # --- ui: each must fail before it serves -------------------------------------------
    Case("ui-project-is-a-file", ("ui", "{earlier}"), earlier="converted_png"),
    Case("ui-port-x", ("ui", "{out}", "--port", "x")),
    Case("ui-port-70000", ("ui", "{out}", "--port", "70000")),
    Case("ui-auth-without-colon", ("ui", "{out}", "--auth", "nocolon")),
    Case("ui-auth-file-missing", ("ui", "{out}", "--auth-file", "{missing_png}")),
    Case("ui-auth-file-not-utf8", ("ui", "{out}", "--host", "0.0.0.0", "--auth-file", "{pairs_latin1}")),
    Case("ui-auth-file-empty", ("ui", "{out}", "--host", "0.0.0.0", "--auth-file", "{pairs_empty}")),
    Case("ui-max-upload-x", ("ui", "{out}", "--max-upload", "x")),
    Case("ui-device-cuda-abc", ("ui", "{out}", "--device", "cuda:abc", "--port", "{free_port}")),
    # --- the command line itself -------------------------------------------------------
    Case("no-command", ()),
    Case("unknown-command", ("swap", "{portrait}")),
]


def test_catalogue_is_large_and_names_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60


# --- the catalogue ---------------------------------------------------------------------


def _damaged_models(root: Path, good: Path) -> dict[str, Path]:
    """Copies of a trained model, each damaged one way."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    def copy(name: str) -> Path:
        return Path(shutil.copytree(good, root / name))

    made = {"missing": root / "nope", "empty": root / "empty", "file": root / "file"}
    made["empty"].mkdir()
    made["file"].write_bytes((good / "config.json").read_bytes())
    made["config_text"] = copy("config-text")
    (made["config_text"] / "config.json").write_text("this is not JSON {", encoding="utf-8")
    made["config_format"] = copy("config-format")
    (made["config_format"] / "config.json").write_text(json.dumps({"format": "someone-else", "version": 1}))
    made["config_list"] = copy("config-list")
    (made["config_list"] / "config.json").write_text("[1, 2, 3]")
    made["weights_truncated"] = copy("weights-truncated")
    weights = made["weights_truncated"] / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size * 3 // 10])
    made["weights_flipped"] = copy("weights-flipped")
    weights = made["weights_flipped"] / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF  # inside the last tensor: the header still parses
    weights.write_bytes(bytes(data))
    # NaN weights saved as a diverged run would: state.json's checksum matches them,
    # so only a look at the values can refuse them.
    made["weights_nan"] = copy("weights-nan")
    weights = made["weights_nan"] / "weights.safetensors"
    with safe_open(weights, framework="pt") as f:
        metadata = f.metadata()
    tensors = load_file(weights)
    first = next(key for key, value in tensors.items() if value.is_floating_point())
    tensors[first] = tensors[first].clone().fill_(float("nan"))
    save_file(tensors, weights, metadata=metadata)
    state = json.loads((made["weights_nan"] / "state.json").read_text())
    state["checksums"]["sha256"]["weights.safetensors"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (made["weights_nan"] / "state.json").write_text(json.dumps(state, indent=1))
    made["no_state"] = copy("no-state")
    (made["no_state"] / "state.json").unlink()
    made["no_weights"] = copy("no-weights")
    (made["no_weights"] / "weights.safetensors").unlink()
    return made


def _damaged_faces(root: Path, good: Path) -> dict[str, Path]:
    made = {"missing": root / "nope", "empty": root / "empty", "file": root / "file.png", "broken": root / "broken"}
    made["empty"].mkdir()
    made["file"].write_bytes(b"not a folder")
    made["broken"].mkdir()
    for i in range(8):
        (made["broken"] / f"{i:02d}.png").write_text("not an image")
    made["alignments_text"] = Path(shutil.copytree(good, root / "alignments-text"))
    (made["alignments_text"] / "alignments.json").write_text("{ garbage", encoding="utf-8")
    made["alignments_list"] = Path(shutil.copytree(good, root / "alignments-list"))
    (made["alignments_list"] / "alignments.json").write_text("[]")
    made["too_few"] = root / "too-few"
    made["too_few"].mkdir()
    for crop in sorted(good.glob("*.png"))[:2]:
        shutil.copy(crop, made["too_few"] / crop.name)
    return made


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def catalogue(tmp_path_factory, astronaut, grace_hopper, grace_hopper_path) -> dict[str, str]:
    """Every bad input by name, the good results the cases damage or protect, as strings."""
    root = tmp_path_factory.mktemp("hostile")
    bad, good = root / "bad", root / "good"
    bad.mkdir()
    good.mkdir()
    c: dict[str, Path] = {"portrait": grace_hopper_path}

    # Good footage of two people, and the results a user would already have.
    small = astronaut[:320, 64:384]
    c["video_a"] = write_video(good / "a.mp4", [shifted(small, 1.5 * i, 0.7 * i)[32:288, 32:288] for i in range(8)])
    hopper = cv2.resize(grace_hopper, (256, 300))[20:276]
    c["video_b"] = write_video(good / "b.mp4", [shifted(hopper, 1.0 * i, 0.5 * i) for i in range(8)])
    for side in "ab":
        code = cli.main(
            ["-q", "extract", str(c[f"video_{side}"]), "-o", str(good / f"faces-{side}"), "--crop-size", "64"]
        )
        assert code == 0
        c[f"faces_{side}"] = good / f"faces-{side}"
    c["extraction"] = c["faces_a"]
    assert (
        cli.main(
            ["-q", "train", str(c["faces_a"]), str(c["faces_b"]), "-o", str(good / "model"), "--from-scratch", *TINY]
        )
        == 0
    )
    c["model"] = good / "model"
    c["converted_png"] = good / "converted.png"
    c["converted_mp4"] = good / "converted.mp4"
    assert (
        cli.main(
            ["-q", "convert", str(grace_hopper_path), "-m", str(c["model"]), "-o", str(c["converted_png"]), *CONVERT]
        )
        == 0
    )
    assert (
        cli.main(["-q", "convert", str(c["video_a"]), "-m", str(c["model"]), "-o", str(c["converted_mp4"]), *CONVERT])
        == 0
    )

    # Images.
    png = cv2.imencode(".png", cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))[1].tobytes()
    jpg = grace_hopper_path.read_bytes()
    rng = np.random.default_rng(15)
    c["png_empty"] = bad / "empty.png"
    c["png_empty"].write_bytes(b"")
    c["png_text"] = bad / "text.png"
    c["png_text"].write_text("This is a text file, not a picture.\n")
    c["png_truncated"] = bad / "truncated.png"
    c["png_truncated"].write_bytes(png[: len(png) * 3 // 10])
    c["jpg_truncated"] = bad / "truncated.jpg"
    c["jpg_truncated"].write_bytes(jpg[: len(jpg) * 3 // 10])
    c["jpg_random"] = bad / "random.jpg"
    c["jpg_random"].write_bytes(rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    c["png_bad_crc"] = bad / "bad-crc.png"  # whole, but a byte of pixel data changed: its CRC fails
    damaged = bytearray(png)
    damaged[len(png) // 2] ^= 0xFF
    c["png_bad_crc"].write_bytes(bytes(damaged))
    c["folder_png"] = bad / "folder.png"
    c["folder_png"].mkdir()
    c["link_broken"] = bad / "broken-link.png"
    c["link_broken"].symlink_to(bad / "no-such-target.png")
    c["link_loop"] = bad / "loop.png"
    c["link_loop"].symlink_to(bad / "loop2.png")
    (bad / "loop2.png").symlink_to(c["link_loop"])
    c["missing_png"] = bad / "missing.png"
    c["png_bomb"] = bad / "bomb.png"
    png_bomb(c["png_bomb"], 12_000)
    c["non_utf8"] = Path(os.fsdecode(bytes(bad) + b"/caf\xe9-\xff.png"))  # Latin-1 bytes in a name
    c["non_utf8"].write_text("Not a picture: the name is what is tested.\n")
    c["fifo_png"] = bad / "pipe.png"
    os.mkfifo(c["fifo_png"])
    c["fifo_mp4"] = bad / "pipe.mp4"
    os.mkfifo(c["fifo_mp4"])

    # Videos.
    video = c["video_a"].read_bytes()
    c["mp4_empty"] = bad / "empty.mp4"
    c["mp4_empty"].write_bytes(b"")
    c["mp4_text"] = bad / "text.mp4"
    c["mp4_text"].write_text("This is a text file, not a video.\n")
    c["mp4_truncated"] = bad / "truncated.mp4"  # the index (moov) is at the end: cut off
    c["mp4_truncated"].write_bytes(video[: len(video) * 3 // 10])
    c["mp4_audio_only"] = write_video(bad / "audio-only.mp4", [], audio=0.5)
    c["mp4_random"] = bad / "random.mp4"
    c["mp4_random"].write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())

    # Model and face folders.
    (bad / "models").mkdir()
    c.update({f"model_{k}": v for k, v in _damaged_models(bad / "models", c["model"]).items()})
    (bad / "faces").mkdir()
    c.update({f"faces_{k}": v for k, v in _damaged_faces(bad / "faces", c["faces_a"]).items()})

    # Pair lists.
    c["pairs_empty"] = bad / "pairs-empty.json"
    c["pairs_empty"].write_bytes(b"")
    c["pairs_text"] = bad / "pairs-text.json"
    c["pairs_text"].write_text("[[this is not JSON")
    c["pairs_latin1"] = bad / "pairs-latin1.csv"
    c["pairs_latin1"].write_bytes("caf\u00e9.mp4,na\u00efve.mp4\n".encode("latin-1"))
    c["pairs_missing"] = bad / "pairs-missing.json"
    c["pairs_missing"].write_text(json.dumps([["nobody-1", "nobody-2"]]))
    c["pairs_shape"] = bad / "pairs-shape.json"
    c["pairs_shape"].write_text(json.dumps({"target": "a", "source": "b"}))
    c["pairs_good"] = good / "pairs.json"
    c["pairs_good"].write_text(json.dumps([["a", "b"]]))

    names = {k: str(v) for k, v in c.items()}
    names["free_port"] = str(_free_port())
    return names


# --- running a case and checking what it left --------------------------------------------


def _tree(root: Path, *, content: bool = True) -> dict[bytes, tuple]:
    """Every entry under ``root`` (hidden ones too, links not followed): kind, bytes' sha256, mtime."""
    entries: dict[bytes, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            key = os.fsencode(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entries[key] = ("dir",)
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if content else info.st_size
                entries[key] = ("file", digest, info.st_mtime_ns)
            else:
                entries[key] = ("special", stat.S_IFMT(info.st_mode))
    return entries


def _difference(before: dict[bytes, tuple], after: dict[bytes, tuple]) -> list[str]:
    def name(key: bytes) -> str:
        return os.fsdecode(key).encode("utf-8", "backslashreplace").decode()

    changes = [f"new: {name(k)}" for k in sorted(after.keys() - before.keys())]
    changes += [f"gone: {name(k)}" for k in sorted(before.keys() - after.keys())]
    changes += [f"changed: {name(k)}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]
    return changes


class _Hung(BaseException):
    """Raised in the main thread by the alarm: a BaseException so the CLI's catch-all lets it by."""


class _PipeWatch:
    """Unblock anything stuck opening one of the named pipes, and remember that it did.

    Opening a FIFO for reading blocks until a writer comes; C code (OpenCV, FFmpeg) may
    retry through the alarm's EINTR. Opening it for writing without blocking succeeds
    only when a reader waits; closing it then gives that reader end-of-file.
    """

    def __init__(self, pipes: list[str], after: float) -> None:
        self.pipes, self.after, self.blocked = pipes, after, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        if self.stop.wait(self.after):
            return
        while not self.stop.is_set():
            for pipe in self.pipes:
                try:
                    fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as error:
                    if error.errno != errno.ENXIO:  # ENXIO: nobody is reading it
                        raise
                    continue
                os.close(fd)
                self.blocked.append(pipe)
            self.stop.wait(0.2)

    def __enter__(self) -> _PipeWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@contextmanager
def _fd_captured(fd: int) -> Iterator[Callable[[], str]]:
    """What C code (OpenCV, FFmpeg) writes to file descriptor ``fd`` meanwhile, as a terminal would see it."""
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)

        def text() -> str:
            sink.seek(0)
            return sink.read().decode("utf-8", "replace")

        try:
            yield text
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def _run(argv: list[str], seconds: int, pipes: list[str]) -> tuple[int | str, str, str, list[str]]:
    """``facetwin -q ARGV`` in this process: exit code, stdout, stderr, the pipes it blocked on.

    The streams get what a terminal's would from a fresh process: stderr is
    ``backslashreplace`` (a non-UTF-8 file name prints), stdout strict UTF-8 as under a
    UTF-8 locale; file descriptors 1 and 2 are read too (OpenCV's and FFmpeg's own
    messages); log records at WARNING and Python warnings (default filters) are shown,
    which pytest would otherwise keep to itself.
    """
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)

    def alarm(signum: int, frame: object) -> None:
        raise _Hung

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with (
            _PipeWatch(pipes, after=5.0) as watch,
            _fd_captured(1) as fd_out,
            _fd_captured(2) as fd_err,
            redirect_stdout(out),
            redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("always")  # a fresh process shows each warning once: here, each run
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.filterwarnings("ignore", category=category)
            try:
                code: int | str = cli.main(["-q", *argv])
            except SystemExit as exit_:  # argparse
                code = exit_.code if isinstance(exit_.code, int) else 2
            except _Hung:
                code = f"still running after {seconds} s"
            except Exception:  # escaped main(): the interpreter prints the traceback and exits 1
                code = 1
                err.write(traceback.format_exc())
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            c_out, c_err = fd_out(), fd_err()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        root.removeHandler(handler)
        set_max_pixels(DEFAULT_MAX_PIXELS)  # --max-pixels sets a process-wide limit
    return (
        code,
        out_bytes.getvalue().decode("utf-8", "replace") + c_out,
        err_bytes.getvalue().decode("utf-8", "replace") + c_err,
        watch.blocked,
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_refused_with_one_line_and_nothing_written(case: Case, catalogue, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a stray relative write lands here, and is seen
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # crash logs of failing cases
    names = dict(catalogue, out=str(work / "out"))
    if case.earlier is not None:
        source = Path(catalogue[case.earlier])
        target = work / ("earlier" + source.suffix)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)
        names["earlier"] = str(target)
    if case.setup is not None:
        case.setup(work)
    argv = [part.format(**names) for part in case.argv]
    shared = Path(catalogue["png_empty"]).parent.parent
    shared_before, before = _tree(shared, content=False), _tree(work)
    seconds = UI_SECONDS if case.argv[:1] == ("ui",) else CASE_SECONDS

    code, out, err, blocked = _run(argv, seconds, [catalogue["fifo_png"], catalogue["fifo_mp4"]])

    shown = " ".join(a.encode("utf-8", "backslashreplace").decode() for a in argv)
    context = f"\nfacetwin -q {shown}\nexit: {code}\nstderr: {err!r}\nstdout: {out!r}"
    assert not blocked, f"blocked reading a named pipe until it was closed under it{context}"
    assert code == 2, f"exit code{context}"
    assert "Traceback" not in err + out, f"a traceback{context}"
    lines = [line for line in (out + err if case.report else err).splitlines() if line.strip()]
    assert len(lines) == 1, f"not one line{context}"
    if case.report:  # verify reports each file it cannot check as a line of its table
        assert "cannot check" in lines[0], context
    else:
        assert lines[0].startswith("facetwin"), f"the line does not start with facetwin{context}"
    changes = _difference(before, _tree(work))
    assert not changes, f"left on disk: {changes}{context}"
    changes = _difference(shared_before, _tree(shared, content=False))
    assert not changes, f"changed the catalogue or the good results: {changes}{context}"
