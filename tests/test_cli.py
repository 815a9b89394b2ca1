"""The command line: one line and exit 2 on bad input, help for every option."""

from __future__ import annotations

import argparse
import importlib

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
    code, _, _ = run(capsys, "-q", "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"),
                     "--detector", "hog", "--crop-size", "96", "--coverage", "0.5", "--no-smooth")
    assert code == 0
    settings = load_alignments(tmp_path / "o" / "alignments.json").settings
    assert (settings["detector"], settings["crop_size"], settings["coverage"], settings["smooth"]) == ("hog", 96, 0.5, False)
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
    extract_module = importlib.import_module("facetwin.extract")  # the attribute is the function

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(extract_module, "extract", broken)
    monkeypatch.setattr(cli.tempfile, "gettempdir", lambda: str(tmp_path))
    code, _, err = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"))
    assert code == 1
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err
    log = next(tmp_path.glob("facetwin-crash-*.log")).read_text()
    assert "Traceback" in log and "boom" in log


def test_interrupt_exit_130(capsys, monkeypatch, grace_hopper_path, tmp_path):
    extract_module = importlib.import_module("facetwin.extract")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract_module, "extract", interrupted)
    code, _, err = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "o"))
    assert code == 130 and "run the same command again to continue" in err


def test_unknown_option_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["extract", "x", "-o", "y", "--detector", "mtcnn"])
    assert info.value.code == 2
    assert "invalid choice: 'mtcnn'" in capsys.readouterr().err


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", ["extract", "train", "pretrain", "convert", "demo", "ui"])
def test_every_option_has_help(command):
    sub = _subparsers(cli.build_parser())[command]
    for action in sub._actions:
        assert action.help and len(action.help) > 15, action.dest
    text = sub.format_help()
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in text


def test_every_config_field_has_an_option():
    from facetwin.config import ConvertConfig, ExtractConfig

    subs = _subparsers(cli.build_parser())
    dests = {a.dest for a in subs["extract"]._actions}
    assert set(ExtractConfig.__dataclass_fields__) <= dests
    dests = {a.dest for a in subs["convert"]._actions}
    assert set(ConvertConfig.__dataclass_fields__) <= dests


def test_convert_summary_and_bad_option(capsys, tmp_path, grace_hopper_path):
    from facetwin.models import create_model
    from facetwin.train.checkpoint import save_checkpoint

    model = create_model("tiny64")
    save_checkpoint(tmp_path / "m", model=model, optimizer=None, state={"step": 0, "seed": 0},
                    config={"model": model.config})
    code, out, err = run(capsys, "-q", "convert", str(grace_hopper_path), str(tmp_path / "m"),
                         "-o", str(tmp_path / "g.png"), "--to", "b", "--blend", "poisson")
    assert code == 0 and err == "" and (tmp_path / "g.png").is_file()
    assert out.startswith("convert: 1 frames, 1 faces swapped to B")
    code, _, err = run(capsys, "-q", "convert", str(grace_hopper_path), str(tmp_path / "m"),
                       "-o", str(tmp_path / "h.png"), "--feather", "0.9")
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
    assert err == ("facetwin ui: error: facetwin ui needs the optional packages of facetwin[ui]: "
                   "pip install 'facetwin[ui]' (No module named 'gradio')")


@pytest.mark.parametrize("text, size", [("2G", 2 << 30), ("500M", 500 << 20), ("1.5k", 1536), ("1024", 1024),
                                        ("3 MiB", 3 << 20)])
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
