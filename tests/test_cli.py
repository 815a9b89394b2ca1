"""The command line: one line and exit 2 on bad input, help for every option."""

from __future__ import annotations

import argparse
import importlib
import time

import cv2
import numpy as np
import pytest

from facetwin import cli
from facetwin.alignments import load_alignments


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_extract_success_prints_summary(capsys, grace_hopper_path, tmp_path):
    code, out, err = run(capsys, "-q", "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"))
    assert code == 0
    assert "1 frames read, 1 faces saved, 0 frames without a face" in out
    assert load_alignments(tmp_path / "o" / "alignments.json").face_count == 1


def test_progress_bar_shows_rate(capsys, moving_video, tmp_path):
    code, out, err = run(capsys, "extract", str(moving_video), "-o", str(tmp_path / "o"))
    assert code == 0
    assert "frame/s" in err and "12/12" in err


def test_options_reach_the_config(capsys, grace_hopper_path, tmp_path):
    code, _, _ = run(
        capsys,
        "-q",
        "extract",
        str(grace_hopper_path),
        "-o",
        str(tmp_path / "o"),
        "--detector",
        "hog",
        "--crop-size",
        "96",
        "--coverage",
        "0.5",
        "--no-smooth",
    )
    assert code == 0
    settings = load_alignments(tmp_path / "o" / "alignments.json").settings
    assert (settings["detector"], settings["crop_size"], settings["coverage"], settings["smooth"]) == (
        "hog",
        96,
        0.5,
        False,
    )
    assert cv2.imread(str(tmp_path / "o" / "000000_0.png")).shape == (96, 96, 3)


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        (lambda d: d / "nope.mp4", [], "input not found"),
        (lambda d: (d / "e").mkdir() or d / "e", [], "holds no images or videos"),
        (lambda d: (d / "t.txt").write_text("x") and d / "t.txt", [], "cannot read"),
        (lambda d: (d / "v.mp4").write_bytes(b"\0" * 999) and d / "v.mp4", [], "damaged, truncated"),
        (lambda d: d, ["--crop-size", "4"], "--crop-size must be >= 16 and <= 4096, got 4"),
        (lambda d: d, ["--coverage", "nan"], "--coverage must be"),
    ],
    ids=["missing", "empty-folder", "text", "zero-bytes-video", "crop-size", "nan-coverage"],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, setup, extra, message):
    target = setup(tmp_path)
    code, out, err = run(capsys, "-q", "extract", str(target), "-o", str(tmp_path / "o"), *extra)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facetwin extract: error: ")
    assert message in lines[0]
    assert "Traceback" not in err


def test_no_face_exit_2(capsys, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 90, np.uint8))
    code, _, err = run(capsys, "-q", "extract", str(blank), "-o", str(tmp_path / "o"))
    assert code == 2 and "no face found in" in err


def test_internal_error_exit_1_with_crash_log(capsys, monkeypatch, grace_hopper_path, tmp_path):
    extract_module = importlib.import_module("facetwin.extraction")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(extract_module, "extract", broken)
    monkeypatch.setattr(cli.tempfile, "gettempdir", lambda: str(tmp_path))
    code, _, err = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"))
    assert code == 1
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err
    log = next(tmp_path.glob("facetwin-crash-*.log")).read_text()
    assert "Traceback" in log and "boom" in log


def test_extract_with_identity_on_a_video_with_padded_rows(capsys, padded_video, astronaut, tmp_path):
    # 642x488: PyAV hands the frames over as strided arrays, which dlib's identity net
    # refused with a 56-line TypeError.
    ref = tmp_path / "astronaut.png"
    cv2.imwrite(str(ref), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    out = tmp_path / "o"
    code, stdout, err = run(
        capsys, "-q", "extract", str(padded_video), "-o", str(out), "--identity", "--ref-face", str(ref)
    )
    assert (code, err) == (0, "")
    assert "6 frames read, 6 faces saved" in stdout
    faces = load_alignments(out / "alignments.json").faces()
    assert len(faces) == 6 and all(face.identity is not None for _, face in faces)


def _dlib_type_error() -> TypeError:
    # A real pybind11 message: the overloads, one per line, then the arguments.
    import dlib

    try:
        dlib.rectangle(1.5, "a")
    except TypeError as exc:
        return exc
    raise AssertionError("dlib accepted a float and a string")


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (
            _dlib_type_error,
            "TypeError: __init__(): incompatible constructor arguments. The following argument "
            "types are supported: [...] (traceback in ",
        ),
        (lambda: RuntimeError("x" * 5000), f"RuntimeError: {'x' * 197}... (traceback in "),
        (lambda: RuntimeError(), "RuntimeError:  (traceback in "),
    ],
    ids=["many lines", "one long line", "no message"],
)
def test_internal_error_is_one_line_whatever_the_message(capsys, monkeypatch, grace_hopper_path, tmp_path, make, shown):
    error = make()
    extract_module = importlib.import_module("facetwin.extraction")

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(extract_module, "extract", broken)
    monkeypatch.setattr(cli.tempfile, "gettempdir", lambda: str(tmp_path))
    code, out, err = run(capsys, "-q", "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.endswith(".log)\n")
    assert err.startswith(f"facetwin extract: internal error: {shown}")
    log = next(tmp_path.glob("facetwin-crash-*.log")).read_text()
    assert str(error) in log  # the whole message is kept there


def test_crash_log_never_follows_a_planted_symlink(capsys, monkeypatch, grace_hopper_path, tmp_path):
    extract_module = importlib.import_module("facetwin.extraction")
    monkeypatch.setattr(extract_module, "extract", lambda *a, **k: 1 / 0)
    shared = tmp_path / "tmp"
    shared.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    # Another local user plants links under every name the old predictable log could take.
    stamp = time.strftime("%Y%m%d-%H%M")
    for second in range(60):
        (shared / f"facetwin-crash-{stamp}{second:02d}.log").symlink_to(victim)
    monkeypatch.setattr(cli.tempfile, "gettempdir", lambda: str(shared))
    code, _, err = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"))
    assert code == 1 and victim.read_text() == "keep me"
    logs = [p for p in shared.iterdir() if not p.is_symlink()]
    assert len(logs) == 1 and str(logs[0]) in err
    assert logs[0].stat().st_mode & 0o777 == 0o600  # the traceback may hold paths: owner only
    assert "ZeroDivisionError" in logs[0].read_text()


def test_max_pixels_option_refuses_before_decoding(capsys, tmp_path, astronaut):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), astronaut[:, :, ::-1])
    try:
        code, _, err = run(capsys, "--max-pixels", "0.2M", "extract", str(path), "-o", str(tmp_path / "o"))
    finally:
        from facetwin.io.images import DEFAULT_MAX_PIXELS, set_max_pixels

        set_max_pixels(DEFAULT_MAX_PIXELS)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "512x512, 0.262 megapixels, over the limit of 0.2 megapixels" in lines[0]


@pytest.mark.parametrize("bad", ["x", "0", "-3M", "M"])
def test_max_pixels_option_refuses_nonsense(capsys, bad):
    with pytest.raises(SystemExit) as info:
        cli.main(["--max-pixels", bad, "verify", "x.png"])
    assert info.value.code == 2 and "--max-pixels" in capsys.readouterr().err


def test_interrupt_exit_130(capsys, monkeypatch, grace_hopper_path, tmp_path):
    extract_module = importlib.import_module("facetwin.extraction")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract_module, "extract", interrupted)
    code, _, err = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"))
    assert code == 130 and "run the same command again to continue" in err


def test_interrupted_convert_does_not_promise_a_resume(capsys, monkeypatch, grace_hopper_path, tmp_path):
    convert_module = importlib.import_module("facetwin.conversion.pipeline")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(convert_module, "convert", interrupted)
    monkeypatch.setattr(importlib.import_module("facetwin.conversion"), "convert", interrupted)
    code, _, err = run(
        capsys, "convert", str(grace_hopper_path), "-m", str(tmp_path / "m"), "-o", str(tmp_path / "x.png")
    )
    assert code == 130 and "does not resume" in err and "continue" not in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_option_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["extract", "x", "-o", "y", "--detector", "mtcnn"])
    assert info.value.code == 2
    assert "invalid choice: 'mtcnn'" in capsys.readouterr().err


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_config_field_has_an_option():
    from facetwin.config import ConvertConfig, ExtractConfig

    subs = _subparsers(cli.build_parser())
    dests = {a.dest for a in subs["extract"]._actions}
    assert set(ExtractConfig.__dataclass_fields__) <= dests
    dests = {a.dest for a in subs["convert"]._actions}
    assert set(ConvertConfig.__dataclass_fields__) <= dests


def test_convert_summary_and_bad_option(capsys, tmp_path, grace_hopper_path):
    from facetwin.models import create_model
    from facetwin.models.checkpoint import save_checkpoint

    model = create_model("tiny64")
    save_checkpoint(
        tmp_path / "m", model=model, optimizer=None, state={"step": 0, "seed": 0}, config={"model": model.config}
    )
    code, out, err = run(
        capsys,
        "-q",
        "convert",
        str(grace_hopper_path),
        "-m",
        str(tmp_path / "m"),
        "-o",
        str(tmp_path / "g.png"),
        "--to",
        "b",
        "--blend",
        "poisson",
    )
    assert code == 0 and err == "" and (tmp_path / "g.png").is_file()
    assert out.startswith("convert: 1 frames, 1 faces swapped to B")
    code, _, err = run(
        capsys,
        "-q",
        "convert",
        str(grace_hopper_path),
        "-m",
        str(tmp_path / "m"),
        "-o",
        str(tmp_path / "h.png"),
        "--feather",
        "0.9",
    )
    assert code == 2 and err.strip().count("\n") == 0 and "--feather must be >= 0 and <= 0.25, got 0.9" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    import facetwin

    assert facetwin.__version__ in capsys.readouterr().out


def test_sigterm_saves_and_resumes(tmp_path):
    """A killed run (SIGTERM) keeps its frames; the same command continues it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from _helpers import shared_data

    video = shared_data("videos", "talking_d3.mp4")
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "facetwin", "-q", "extract", str(video), "-o", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*.png"))) < 40:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    partial = load_alignments(out / "alignments.json")
    assert not partial.complete and len(partial.frames) >= 40
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert f"resumed at frame {len(partial.frames)}" in done.stdout
    full = load_alignments(out / "alignments.json")
    assert full.complete and [f.index for f in full.frames] == list(range(354))
    assert {p.name for p in out.glob("*.png")} == {fa.crop for _, fa in full.faces()}


def test_ui_without_its_extra_is_one_line(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_gradio(name, *args, **kwargs):
        if name == "gradio" or name.startswith("gradio."):
            raise ModuleNotFoundError("No module named 'gradio'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "facetwin.ui.app", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_gradio)
    assert cli.main(["ui", "--port", "1"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert err == (
        "facetwin ui: error: facetwin ui needs the optional packages of facetwin[ui]: "
        "pip install 'facetwin[ui]' (No module named 'gradio')"
    )


@pytest.mark.parametrize(
    "text, size", [("2G", 2 << 30), ("500M", 500 << 20), ("1.5k", 1536), ("1024", 1024), ("3 MiB", 3 << 20)]
)
def test_upload_sizes(text, size):
    assert cli._size(text) == size


def test_ui_port_in_use_is_one_line(capsys, tmp_path):
    import socket

    pytest.importorskip("gradio", reason="the web UI needs facetwin[ui]")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["ui", str(tmp_path / "project"), "--port", str(port)]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"facetwin ui: error: cannot serve on 127.0.0.1:{port}: ")
    assert err.endswith("(choose another --port, or stop what uses it)")


def test_ui_given_a_file_is_one_line(capsys, tmp_path):
    pytest.importorskip("gradio", reason="the web UI needs facetwin[ui]")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not a folder")
    assert cli.main(["ui", str(clip), "--port", "1"]) == cli.EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"facetwin ui: error: cannot use {clip} as a project folder: it is a file "
        "(give a folder; it is created if missing)\n"
    )


def test_ui_log_in_options(capsys, tmp_path):
    pytest.importorskip("gradio", reason="the web UI needs facetwin[ui]")
    assert cli._credentials(" ann:pass:word \n") == ("ann", "pass:word")
    with pytest.raises(SystemExit) as info:
        cli.main(["ui", str(tmp_path / "p"), "--auth", "hunter2"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --auth: expected USER:PASSWORD, both non-empty" in err and "hunter2" not in err
    (tmp_path / "auth").write_text("no colon here\n")
    for path in (tmp_path / "auth", tmp_path / "missing"):
        assert cli.main(["ui", str(tmp_path / "p"), "--auth-file", str(path), "--port", "1"]) == cli.EXIT_BAD_INPUT
        assert capsys.readouterr().err == (
            f"facetwin ui: error: --auth-file must be a readable file whose first "
            f"line is USER:PASSWORD, got {str(path)!r}\n"
        )


@pytest.mark.parametrize("damage", ["flipped-byte", "nan"])
def test_a_damaged_model_is_one_line_for_convert_and_evaluate(capsys, tmp_path, grace_hopper_path, monkeypatch, damage):
    """Such weights used to load and paint black squares (or noise) with exit 0."""
    import torch
    from _helpers import tiny_model_dir

    import facetwin.evaluation.runner as runner
    from facetwin.models import create_model
    from facetwin.models.checkpoint import save_checkpoint

    folder = tmp_path / "m"
    if damage == "nan":
        model = create_model("tiny64")
        with torch.no_grad():
            next(model.decoder_a.parameters()).fill_(float("nan"))
        save_checkpoint(
            folder, model=model, optimizer=None, state={"step": 0, "seed": 0}, config={"model": model.config}
        )
        expected = "holds NaN or infinite values"
    else:
        tiny_model_dir(folder)
        data = bytearray((folder / "weights.safetensors").read_bytes())
        data[-1] ^= 0x01
        (folder / "weights.safetensors").write_bytes(bytes(data))
        expected = "changed since it was saved"
    code, out, err = run(
        capsys, "-q", "convert", str(grace_hopper_path), "-m", str(folder), "-o", str(tmp_path / "g.png")
    )
    assert code == 2 and out == "" and not (tmp_path / "g.png").exists()
    assert err.startswith(f"facetwin convert: error: model {folder}: weights.safetensors is truncated or damaged (")
    assert expected in err and err.count("\n") == 1
    monkeypatch.setattr(runner, "load_tools", lambda: None)  # the identity networks: not needed to refuse
    code, out, err = run(
        capsys,
        "-q",
        "evaluate",
        "--model",
        str(folder),
        str(grace_hopper_path),
        str(grace_hopper_path),
        "-o",
        str(tmp_path / "ev"),
    )
    assert code == 2 and out == "" and expected in err and err.count("\n") == 1


def test_train_interrupted_says_what_the_folder_holds(capsys, tmp_path, monkeypatch):
    import facetwin.training
    from facetwin.errors import TrainingInterrupted
    from facetwin.training.trainer import TrainSummary

    def raising(outcome):
        def train(*args, **kwargs):
            raise outcome

        return train

    argv = ["-q", "train", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "m"), "--steps", "9"]
    cases = {
        TrainingInterrupted(
            tmp_path / "m", step=12, saved_step=12
        ): f"interrupted at step 12; step 12 is saved in {tmp_path / 'm'}; continue with --resume",
        TrainingInterrupted(
            tmp_path / "m", step=12, saved_step=10
        ): f"interrupted at step 12; its weights had become NaN or infinite, so {tmp_path / 'm'} keeps the "
        "checkpoint of step 10; continue with --resume",
        KeyboardInterrupt(): f"interrupted before the first step; nothing was saved in {tmp_path / 'm'}",
    }
    for outcome, line in cases.items():
        monkeypatch.setattr(facetwin.training, "train", raising(outcome))
        code, out, err = run(capsys, *argv)
        assert (code, out, err) == (cli.EXIT_INTERRUPTED, "", f"facetwin train: {line}\n")

    summary = TrainSummary(
        model_dir=tmp_path / "m",
        start_step=4,
        step=9,
        loss_a=0.1,
        loss_b=0.2,
        seconds=3,
        samples_per_s=5,
        stopped_by="steps",
        notes=["resumed at step 4 with lr 0.0001 -> 5e-05: it does not continue the saved run exactly"],
    )
    monkeypatch.setattr(facetwin.training, "train", lambda *a, **k: summary)
    code, out, _ = run(capsys, *argv, "--resume")
    assert code == 0 and out.startswith("train: resumed at step 4 with lr 0.0001 -> 5e-05: it does not continue")


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["train", "a", "b", "-o", "m", "--steps", "0"], "--steps must be >= 1"),
        (["dataset", "x", "-o", "d", "--jobs", "0"], "--jobs must be >= 1, got 0"),
        (["evaluate", "--pairs", "x", "--held-out", "5"], "--held-out must be > 0"),
    ],
)
def test_errors_name_flags_not_config_fields(capsys, tmp_path, monkeypatch, argv, flag):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1


def test_evaluate_names_every_missing_option(capsys):
    code, _, err = run(capsys, "evaluate", "--model", "m")
    assert code == 2 and "VIDEO_A and VIDEO_B are missing" in err and "got None" not in err


def test_one_bar_class_draws_every_stage(capsys):
    from facetwin.progress import Progress

    bars = cli._Bars(True)  # a dataset: pairs on the first line, each pair's stages below
    bars(Progress("pair", 0, 2, "pair"))
    for item in ("astro_grace", "grace_astro"):
        for stage, unit, total in (("extract", "frame", 5), ("train", "step", 3)):
            for done in range(1, total + 1):
                bars(Progress(stage, done, total, unit, item=item))
        bars(Progress("pair", 1 if item == "astro_grace" else 2, 2, "pair"))
    bars(Progress("video", 1, 2, "video"))  # preparation steps have no bar of their own
    bars.close()
    err = capsys.readouterr().err
    assert "pairs: 100%" in err and "2/2" in err and "video" not in err
    assert "astro_grace extract" in err and "grace_astro train" in err
    bars = cli._Bars(True)  # one stage after another (the demo): each bar is kept, with its detail
    for stage, unit in (("extract", "frame"), ("train", "step")):
        for done in range(1, 4):
            bars(Progress(stage, done, 3, unit, detail=f"{stage} detail {done}"))
    bars.close()
    err = capsys.readouterr().err
    assert "extract: 100%" in err and "train: 100%" in err and "3/3" in err
    assert "train detail 3" in err and "frame/s" in err and "step/s" in err
    quiet = cli._Bars(False)
    quiet(Progress("extract", 1, 2))
    quiet.close()
    assert capsys.readouterr().err == ""


def test_a_stages_own_eta_is_shown_and_a_moving_total_followed(capsys):
    from facetwin.progress import Progress

    bars = cli._Bars(True)
    bars(Progress("train", 10, 50, "step", remaining=754.0))  # a time limit: 12:34 left
    bars.close()
    assert "<12:34" in capsys.readouterr().err
    bars = cli._Bars(True)
    bars(Progress("train", 10, 50, "step", remaining=754.0))
    bars(Progress("train", 20, 60, "step", remaining=3725.0))  # the estimate moved
    bars.close()
    err = capsys.readouterr().err.split("\r")[-1]  # the bar as it was left
    assert "<1:02:05" in err and "20/60" in err
    bars = cli._Bars(True)  # no ETA given: tqdm's from the rate, as before
    bars(Progress("extract", 1, 4, "frame"))
    bars.close()
    assert "1/4" in capsys.readouterr().err


def test_extraction_with_every_ends_at_its_total(capsys, moving_video, tmp_path):
    code, out, err = run(capsys, "extract", str(moving_video), "-o", str(tmp_path / "o"), "--every", "5")
    assert code == 0 and "3/3" in err and "100%" in err  # frames 0, 5, 10 of 12


def test_thread_and_allocation_policy_is_set_per_command_before_the_work(monkeypatch, tmp_path):
    """Training commands get torch's huge-page allocation, inference commands passive
    OpenMP waiting; a user's own setting wins (issue 19)."""
    import os

    from facetwin import cli

    seen = {}

    def record(name):
        def handler(args):
            seen[name] = {k: os.environ.get(k) for k in ("THP_MEM_ALLOC_ENABLE", "OMP_WAIT_POLICY")}
            return 0

        return handler

    monkeypatch.setattr(cli, "_cmd_train", record("train"))
    monkeypatch.setattr(cli, "_cmd_convert", record("convert"))
    for name in ("THP_MEM_ALLOC_ENABLE", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["train", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "m"), "-s", "1"]) == 0
    assert seen["train"] == {"THP_MEM_ALLOC_ENABLE": "1", "OMP_WAIT_POLICY": None}
    monkeypatch.delenv("THP_MEM_ALLOC_ENABLE")
    assert cli.main(["convert", str(tmp_path), "-m", str(tmp_path), "-o", str(tmp_path / "out.mp4")]) == 0
    assert seen["convert"] == {"THP_MEM_ALLOC_ENABLE": None, "OMP_WAIT_POLICY": "PASSIVE"}
    monkeypatch.setenv("THP_MEM_ALLOC_ENABLE", "0")
    assert cli.main(["train", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "m"), "-s", "1"]) == 0
    assert seen["train"]["THP_MEM_ALLOC_ENABLE"] == "0"
