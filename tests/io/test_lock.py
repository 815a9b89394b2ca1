"""Tests for facetwin.io.lock: one run per output, released by a kill -9, leftovers of killed runs removed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from facetwin.errors import OutputLockedError, OutputWriteError
from facetwin.io.lock import LOCK_NAME, locks_output, output_lock, remove_stale_temps

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock and kill -9 are POSIX")

_HOLD = """
import sys, time
from facetwin.io.lock import output_lock
with output_lock(sys.argv[1], sys.argv[2], kind=sys.argv[3]):
    print("locked", flush=True)
    time.sleep(120)
"""


def _hold_in_process(path: Path, command: str, kind: str = "folder") -> subprocess.Popen:
    """Another process holding the lock of ``path`` (it says so on stdout first)."""
    child = subprocess.Popen([sys.executable, "-c", _HOLD, str(path), command, kind], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    return child


def _kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()


def test_a_second_process_is_refused_with_the_first_ones_pid_and_command(tmp_path):
    out = tmp_path / "faces"
    child = _hold_in_process(out, "extract")
    try:
        with pytest.raises(OutputLockedError) as caught, output_lock(out, "extract"):
            pytest.fail("entered a locked output")
        error = caught.value
        assert isinstance(error, OSError)
        assert (error.pid, error.command, error.path) == (child.pid, "extract", out)
        assert str(error).startswith(f"{out} is in use by facetwin extract (pid {child.pid}, since ")
        assert "wait for it to finish or stop it" in str(error) and "\n" not in str(error)
        note = json.loads((out / LOCK_NAME).read_text())  # the refused run changed nothing
        assert note["pid"] == child.pid and note["command"] == "extract"
    finally:
        _kill(child)


def test_kill_9_releases_the_lock(tmp_path):
    out = tmp_path / "model"
    child = _hold_in_process(out, "train")
    _kill(child)
    assert (out / LOCK_NAME).exists()  # a killed run cannot delete it, but the OS let go of the lock
    with output_lock(out, "train"):
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (out / LOCK_NAME).exists()


def test_another_spelling_of_the_folder_is_the_same_lock(tmp_path, monkeypatch):
    (tmp_path / "faces").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "faces")
    monkeypatch.chdir(tmp_path)
    child = _hold_in_process(Path("faces"), "extract")
    try:
        for spelling in ("./faces/../faces", "link", str(tmp_path / "faces")):
            with pytest.raises(OutputLockedError, match=f"pid {child.pid}"), output_lock(spelling, "extract"):
                pass
    finally:
        _kill(child)


def test_a_file_output_is_locked_beside_it_and_other_files_stay_free(tmp_path):
    child = _hold_in_process(tmp_path / "fake.mp4", "convert", "file")
    try:
        assert (tmp_path / ".fake.mp4.facetwin.lock").exists()
        with (
            pytest.raises(OutputLockedError, match="facetwin convert"),
            output_lock(tmp_path / "fake.mp4", "convert", kind="file"),
        ):
            pass
        with output_lock(tmp_path / "other.mp4", "convert", kind="file"):
            pass
    finally:
        _kill(child)


def test_another_thread_is_refused_but_the_same_thread_may_nest(tmp_path):
    out = tmp_path / "model"
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with output_lock(out, "train"):
                pass
        except OutputLockedError as exc:
            errors.append(exc)

    with output_lock(out, "pretrain"):
        with output_lock(out, "train"):  # pretrain calls train on its own folder
            pass
        assert (out / LOCK_NAME).exists()  # the inner exit did not release the outer lock
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(errors) == 1 and errors[0].pid == os.getpid() and errors[0].command == "pretrain"


def test_release_leaves_no_trace_and_removes_a_folder_it_made_if_empty(tmp_path):
    with output_lock(tmp_path / "a" / "b", "extract"):
        assert (tmp_path / "a" / "b").is_dir()
    assert not (tmp_path / "a" / "b").exists()  # a run that failed before writing leaves nothing
    with output_lock(tmp_path / "c", "extract"):
        (tmp_path / "c" / "alignments.json").write_text("{}")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["alignments.json"]
    (tmp_path / "d").mkdir()
    with output_lock(tmp_path / "d", "extract"):
        pass
    assert (tmp_path / "d").is_dir()  # it was there before


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(ValueError), output_lock(tmp_path, "extract"):
        raise ValueError("boom")
    with output_lock(tmp_path, "extract"):
        pass


def test_a_file_where_the_folder_should_be_is_left_to_the_command(tmp_path):
    (tmp_path / "x").write_text("not a folder")
    with output_lock(tmp_path / "x", "extract"):
        pass
    assert (tmp_path / "x").read_text() == "not a folder"


def test_a_folder_that_cannot_be_made_is_an_output_write_error(tmp_path):
    (tmp_path / "x").write_text("a file")
    with (
        pytest.raises(OutputWriteError, match="cannot write .*x/out: Not a directory"),
        output_lock(tmp_path / "x" / "out", "extract"),
    ):
        pass


def test_locks_output_reads_the_argument_and_can_be_skipped(tmp_path):
    seen = []

    @locks_output("model_dir", "train", unless=lambda args: args["rank"] != 0)
    def train(faces, model_dir, *, rank=0):
        seen.append((Path(model_dir) / LOCK_NAME).exists())

    train("faces", tmp_path / "m")
    train("faces", model_dir=tmp_path / "n", rank=1)
    assert seen == [True, False]


def test_an_unreadable_note_still_gives_one_sentence(tmp_path):
    error = OutputLockedError(tmp_path)
    assert str(error) == (
        f"{tmp_path} is in use by another facetwin run; wait for it to finish or stop it, or choose another output"
    )
    other = OutputLockedError(tmp_path, pid=7, command="train", host="gpu-2", started=0.0, this_host="laptop")
    assert "facetwin train (pid 7 on gpu-2, since 1970-01-01" in str(other)


# --- leftovers of killed runs ----------------------------------------------------------------


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"x" * 100)


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    ours = [
        ".000012_0.png.k2_9xq1a.tmp",
        ".alignments.json.abcdefgh.tmp",
        ".fake.mp4.3bor2rec.part",
        "..fake.mp4.3bor2rec.part.zz0011yy.c2pa.tmp",
        ".history.csv.a1b2c3d4.tmp",
    ]
    others = [
        "notes.txt",
        ".notes.txt.abcdefgh.tmp",
        ".fake.mp4.part",
        ".fake.mp4.toolong12.part",
        "fake.mp4.abcdefgh.part",
        ".weights.safetensors.staged",
        ".000012_0.png.ABCDEFGH.tmp",
    ]
    _touch(tmp_path, *ours, *others)
    assert remove_stale_temps(tmp_path) == len(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)


def test_temporaries_of_a_running_conversion_beside_are_kept(tmp_path):
    _touch(tmp_path, ".fake.mp4.3bor2rec.part", ".fake.mp4.facetwin.lock", ".a.png.abcdefgh.tmp")
    assert remove_stale_temps(tmp_path) == 1
    assert (tmp_path / ".fake.mp4.3bor2rec.part").exists()


def test_a_file_output_removes_only_its_own_temporaries(tmp_path):
    _touch(tmp_path, ".fake.mp4.3bor2rec.part", ".other.mp4.3bor2rec.part", ".fake.png.abcdefgh.tmp")
    with output_lock(tmp_path / "fake.mp4", "convert", kind="file"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".fake.png.abcdefgh.tmp", ".other.mp4.3bor2rec.part"]


def test_a_folder_lock_cleans_the_sub_folders_asked_for(tmp_path):
    (tmp_path / "previews").mkdir()
    (tmp_path / "tensorboard").mkdir()
    _touch(tmp_path, ".preview.png.abcdefgh.tmp")
    _touch(tmp_path / "previews", ".step_0000010.png.abcdefgh.tmp")
    _touch(tmp_path / "tensorboard", ".x.png.abcdefgh.tmp")
    with output_lock(tmp_path, "train", clean=("previews",)):
        pass
    assert not (tmp_path / ".preview.png.abcdefgh.tmp").exists()
    assert not (tmp_path / "previews" / ".step_0000010.png.abcdefgh.tmp").exists()
    assert (tmp_path / "tensorboard" / ".x.png.abcdefgh.tmp").exists()


def test_a_refused_run_removes_nothing(tmp_path):
    child = _hold_in_process(tmp_path, "extract")
    try:
        _touch(tmp_path, ".000001_0.png.abcdefgh.tmp")  # the holder's file, being written
        with pytest.raises(OutputLockedError), output_lock(tmp_path, "extract"):
            pass
        assert (tmp_path / ".000001_0.png.abcdefgh.tmp").exists()
    finally:
        _kill(child)


def test_the_part_file_of_a_writer_killed_mid_video_is_removed_by_the_next_run(tmp_path):
    """The reproduction: a real VideoWriter killed with -9 leaves its .part; the next run on that output removes it."""
    script = """
import sys, time
import numpy as np
from facetwin.io import VideoWriter
writer = VideoWriter(sys.argv[1], fps=25, preset="ultrafast")
for i in range(30):
    writer.write(np.full((64, 96, 3), i * 8, np.uint8))
print("writing", flush=True)
time.sleep(120)
"""
    target = tmp_path / "fake.mp4"
    child = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    _kill(child)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".fake.mp4.") and left[0].endswith(".part")
    assert (tmp_path / left[0]).stat().st_size > 0 and not target.exists()
    with output_lock(target, "convert", kind="file"):
        assert list(tmp_path.iterdir()) == [tmp_path / ".fake.mp4.facetwin.lock"]
    assert list(tmp_path.iterdir()) == []
